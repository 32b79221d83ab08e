"""A week's bulletin: selection, per-theme variants, e-mail and web renderings.

build_bulletin(store, week, settings) -> Bulletin
filter_bulletin(bulletin, themes=None, types=None, scope=None) -> Bulletin
render_email(bulletin, settings) -> (html, text)
render_web(bulletin, settings) -> html
write_bulletin(store, week, settings) -> [paths]
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Iterable
from dataclasses import replace
from pathlib import Path
from typing import Any

import css_inline

from watcher.publish.model import Bulletin, Section
from watcher.publish.render import render
from watcher.publish.selection import build_sections
from watcher.publish.taxonomy import name, names
from watcher.publish.weeks import issue_date, week_dates, week_label, week_range
from watcher.store import Store
from watcher.store import bulletins as store_bulletins

TITLE = "Veille EIT Grand Est"


def build_bulletin(store: Store, week: str, settings: Any) -> Bulletin:
    """The published snapshot if the week is frozen; else the curated selection
    when any entry was curated; else the automatic selection."""
    current = store_bulletins.current_edition(store, week)
    if current and current["status"] == "published" and current["snapshot"]:
        bulletin = Bulletin.from_dict(current["snapshot"])
        bulletin.edition = current["edition"]
        bulletin.status = "published"
        return bulletin
    start, end = week_range(week)
    curated = store_bulletins.entries(store, week) or None
    rows = store_bulletins.load_items(store, since=start, until=end)
    if curated:
        seen = {r["id"] for r in rows}
        missing = [i for i in curated if i not in seen]
        rows.extend(store_bulletins.load_items(store, ids=missing))
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
        edition=current["edition"] if current else None,
        status="draft",
    )


def filter_bulletin(
    bulletin: Bulletin,
    themes: Iterable[str] | None = None,
    types: Iterable[str] | None = None,
    scope: str | Iterable[str] | None = None,
) -> Bulletin:
    """Only the entries with one of the themes, one of the types and (one of) the scope(s)."""
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
        title = f"{bulletin.title} — {name('themes', theme)}"
    return replace(bulletin, sections=sections, theme=theme, title=title)


def _context(bulletin: Bulletin, settings: Any, **extra: Any) -> dict[str, Any]:
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


def render_email(bulletin: Bulletin, settings: Any) -> tuple[str, str]:
    """(HTML with inline CSS for mail clients, plain-text alternative)."""
    context = _context(bulletin, settings)
    html = render("bulletin/email.html", settings, **context)
    inliner = css_inline.CSSInliner(keep_style_tags=False, load_remote_stylesheets=False)
    html = inliner.inline(html)
    text = render("bulletin/email.txt", settings, **context)
    return html, text


def render_web(bulletin: Bulletin, settings: Any) -> str:
    """The bulletin as a standalone web page (links go to the originals)."""
    return render("bulletin/web.html", settings, **_context(bulletin, settings))


def atomic_write(path: Path, data: str | bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = data.encode("utf-8") if isinstance(data, str) else data
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(payload)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def write_bulletin(store: Store, week: str, settings: Any) -> list[Path]:
    """Write `output/bulletins/<week>/` : web page, e-mail (HTML + text) for
    everyone, and the same per theme under `themes/<theme>/`."""
    bulletin = build_bulletin(store, week, settings)
    folder = Path(settings.publish.output_dir) / "bulletins" / week
    written: list[Path] = []

    def emit(target: Path, variant: Bulletin) -> None:
        html, text = render_email(variant, settings)
        for file_name, data in (
            ("index.html", render_web(variant, settings)),
            ("email.html", html),
            ("email.txt", text),
        ):
            atomic_write(target / file_name, data)
            written.append(target / file_name)

    emit(folder, bulletin)
    for theme in names()["themes"]:
        emit(folder / "themes" / theme, filter_bulletin(bulletin, themes=[theme]))
    return written
