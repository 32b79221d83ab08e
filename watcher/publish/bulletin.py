"""A week's bulletin: selection, per-theme variants, e-mail and web renderings.

build_bulletin(store, week, settings) -> Bulletin
candidates(store, week, settings) -> [item rows with their entry]
publish_bulletin(store, week, user, settings) -> edition
filter_bulletin(bulletin, themes=None, types=None, scope=None, *, theme_names=None)
render_email(bulletin, settings) -> (html, text)
render_web(bulletin, settings) -> html
write_bulletin(store, week, settings) -> [paths]
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterable
from dataclasses import replace
from datetime import datetime
from pathlib import Path
from typing import Any

import css_inline

from watcher.base.taxonomy import taxonomy_for
from watcher.base.weeks import issue_date, week_dates, week_label, week_range
from watcher.exceptions import PublishError
from watcher.files import write_atomically
from watcher.publish.model import Bulletin, Section
from watcher.publish.render import render
from watcher.publish.selection import SECTION_ORDER, auto_selection, build_sections
from watcher.publish.writer import recover
from watcher.settings import Settings
from watcher.store import Store
from watcher.store import bulletins as store_bulletins

TITLE = "Veille EIT Grand Est"


def build_bulletin(store: Store, week: str, settings: Settings) -> Bulletin:
    """The published snapshot if the week is frozen; else the curated selection
    when any entry was curated; else the automatic selection."""
    current = store_bulletins.current_edition(store, week)
    if current and current["status"] == "published" and current["snapshot"]:
        bulletin = Bulletin.from_dict(current["snapshot"])
        bulletin.edition = current["edition"]
        bulletin.status = "published"
        return bulletin
    curated = store_bulletins.entries(store, week) or None
    rows = _week_rows(store, week, curated or {})
    bulletin = week_bulletin(week, rows, curated, settings)
    bulletin.edition = current["edition"] if current else None
    bulletin.editorial = (current or {}).get("editorial") or ""
    return bulletin


def week_bulletin(
    week: str, rows: list[dict[str, Any]], curated: dict[int, Any] | None, settings: Settings
) -> Bulletin:
    """The draft bulletin of `week` from its item rows: the curated entries when
    `curated` (the week's entries) is given, else the automatic selection."""
    monday, sunday = week_dates(week)
    return Bulletin(
        week=week,
        title=f"{TITLE} — {week_label(week)}",
        period=week_label(week),
        start=monday,
        end=sunday,
        issue_date=issue_date(week),
        mode="curated" if curated else "automatic",
        sections=build_sections(rows, week, curated, settings),
        status="draft",
    )


def _week_rows(store: Store, week: str, entries: dict[int, Any]) -> list[dict[str, Any]]:
    """Items first seen in the week, plus those of other weeks that have an entry."""
    start, end = week_range(week)
    rows = store_bulletins.load_items(store, since=start, until=end)
    seen = {r["id"] for r in rows}
    missing = [i for i in entries if i not in seen]
    if missing:
        rows.extend(store_bulletins.load_items(store, ids=missing))
    return rows


def candidates(store: Store, week: str, settings: Settings) -> list[dict[str, Any]]:
    """The items a curator chooses from for a week: those first seen in the week
    plus any item that already has an entry for it. Each dict is an item (as
    ``load_items``) plus ``entry`` (the entry row or None), ``status``,
    ``pinned``, ``position`` and ``auto`` (the automatic selection would take it).
    Sorted by section order then score."""
    current = store_bulletins.entries(store, week)
    rows = _week_rows(store, week, current)
    auto_ids = {r["id"] for r in auto_selection(rows, week, settings)}
    for row in rows:
        entry = current.get(row["id"])
        row["entry"] = entry
        row["status"] = entry["status"] if entry else "candidate"
        row["pinned"] = bool(entry and entry["pinned"])
        row["position"] = entry["position"] if entry else None
        row["auto"] = row["id"] in auto_ids

    def order(row: dict[str, Any]) -> tuple:
        kind = (row["labels"] or {}).get("type")
        rank = SECTION_ORDER.index(kind) if kind in SECTION_ORDER else len(SECTION_ORDER)
        return (not (row["labels"] or {}).get("relevant"), rank, -row["score"], row["id"])

    return sorted(rows, key=order)


def publish_bulletin(
    store: Store, week: str, user: str, settings: Settings, *, expected: int | None = None
) -> int:
    """Freeze the week's bulletin as it stands into the current edition; returns it.
    ``expected``: the draft edition the caller saw (see ``store.bulletins.freeze``)."""
    if expected is None and store_bulletins.is_published(store, week):
        raise PublishError(
            f"bulletin {week} is already published", hint="open a new edition to correct it"
        )

    def snapshot(edition: int, published_at: datetime) -> dict[str, Any]:
        # Built while freeze() holds the week: no curator's change slips in between
        # the bulletin read here and the snapshot written.
        bulletin = build_bulletin(store, week, settings)
        frozen = replace(bulletin, edition=edition, status="published", published_at=published_at)
        return frozen.to_dict()

    return store_bulletins.freeze(store, week, user, snapshot, expected=expected)


def filter_bulletin(
    bulletin: Bulletin,
    themes: Iterable[str] | None = None,
    types: Iterable[str] | None = None,
    scope: str | Iterable[str] | None = None,
    *,
    theme_names: dict[str, str] | None = None,
) -> Bulletin:
    """Only the entries with one of the themes, one of the types and (one of) the scope(s).

    Cut to one theme, the title ends with its name (``theme_names``: id -> French name)."""
    theme_set = set(themes) if themes else None
    type_set = set(types) if types else None
    scope_set = {scope} if isinstance(scope, str) else (set(scope) if scope else None)

    def keep(entry: Any) -> bool:
        if theme_set is not None and not theme_set & set(entry.themes):
            return False
        if type_set is not None and entry.type not in type_set:
            return False
        return scope_set is None or entry.scope in scope_set

    sections = [
        Section(s.id, s.title, [e for e in s.entries if keep(e)]) for s in bulletin.sections
    ]
    theme = next(iter(theme_set)) if theme_set and len(theme_set) == 1 else bulletin.theme
    title = bulletin.title
    if theme and theme != bulletin.theme:
        title = f"{bulletin.title} — {(theme_names or {}).get(theme, theme)}"
    return replace(bulletin, sections=sections, theme=theme, title=title)


def _context(bulletin: Bulletin, settings: Settings, **extra: Any) -> dict[str, Any]:
    public = (settings.publish.public_url or "").rstrip("/")
    web_url = f"{public}/bulletins/{bulletin.week}/" if public else ""
    return {
        "bulletin": bulletin,
        "sections": [s for s in bulletin.sections if s.entries],
        "site_title": TITLE,
        "web_url": web_url,
        "public_url": public,
        **extra,
    }


def preheader(bulletin: Bulletin) -> str:
    """The line mail clients show after the subject: what the week holds, per section."""
    counts = [f"{s.title} : {len(s.entries)}" for s in bulletin.sections if s.entries]
    if not counts:
        return f"{bulletin.period} : rien de retenu cette semaine"
    return f"{bulletin.period} · " + " · ".join(counts)


def mail_context(
    bulletin: Bulletin, settings: Settings, *, manage_url: str = "", unsubscribe_url: str = ""
) -> dict[str, Any]:
    """What the e-mail templates (bulletin and empty note) get besides the bulletin:
    the preheader and the footer's links (a subscriber's own, when given)."""
    mailto = settings.delivery.unsubscribe_mailto
    return {
        "preheader": preheader(bulletin),
        "manage_url": manage_url,
        "unsubscribe_url": unsubscribe_url,
        "unsubscribe_mailto_url": f"mailto:{mailto}?subject=desinscription" if mailto else "",
    }


def render_email(
    bulletin: Bulletin, settings: Settings, *, manage_url: str = "", unsubscribe_url: str = ""
) -> tuple[str, str]:
    """(HTML with inline CSS for mail clients, plain-text alternative). The footer's
    links go to ``manage_url`` and ``unsubscribe_url`` (else the unsubscribe mailto)."""
    links = mail_context(bulletin, settings, manage_url=manage_url, unsubscribe_url=unsubscribe_url)
    context = _context(bulletin, settings, **links)
    html = render("bulletin/email.html", settings, **context)
    inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
    html = inliner.inline(html)
    text = render("bulletin/email.txt", settings, **context)
    return html, text


def render_web(bulletin: Bulletin, settings: Settings) -> str:
    """The bulletin as a standalone web page (links go to the originals)."""
    return render("bulletin/web.html", settings, **_context(bulletin, settings))


def write_bulletin(store: Store, week: str, settings: Settings) -> list[Path]:
    """Write `output/bulletins/<week>/` : web page, e-mail (HTML + text) for
    everyone, and the same per theme under `themes/<theme>/`.

    The week's folder appears whole or not at all: it is built in
    ``.<week>.build-<pid>`` beside it, then swapped in (as the site writer does),
    so a failure or a kill midway leaves the previous folder as it was."""
    bulletin = build_bulletin(store, week, settings)
    folder = Path(settings.publish.output_dir) / "bulletins" / week
    folder.parent.mkdir(parents=True, exist_ok=True)
    recover(folder)  # a killed build's folders: the previous one back, the rest removed
    staging = folder.parent / f".{week}.build-{os.getpid()}"
    old = folder.parent / f".{week}.old-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    written: list[Path] = []

    def emit(rel: Path, variant: Bulletin) -> None:
        html, text = render_email(variant, settings)
        for file_name, data in (
            ("index.html", render_web(variant, settings)),
            ("email.html", html),
            ("email.txt", text),
        ):
            write_atomically(staging / rel / file_name, data)
            written.append(folder / rel / file_name)

    try:
        emit(Path(), bulletin)
        theme_names = taxonomy_for(settings).names["themes"]
        for theme in theme_names:
            variant = filter_bulletin(bulletin, themes=[theme], theme_names=theme_names)
            emit(Path("themes") / theme, variant)
        if folder.exists():
            os.rename(folder, old)
        os.rename(staging, folder)
    except BaseException:
        if old.exists() and not folder.exists():
            os.rename(old, folder)
        shutil.rmtree(staging, ignore_errors=True)
        raise
    shutil.rmtree(old, ignore_errors=True)
    return written
