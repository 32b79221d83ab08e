"""The static archive site: `build_site(store, settings) -> SiteReport`.

Two phases (as Pelican's writers): first every context is built in memory
(items, bulletins, lists, figures), then every output is written through a
`SiteWriter` into a temporary folder that is swapped in at the end. Item pages
are keyed by a hash of their inputs so an unchanged item is not re-rendered;
Pagefind runs only when an item page changed.
"""

from __future__ import annotations

import hashlib
import time
from collections import defaultdict
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from watcher.base.clock import paris_today
from watcher.base.resources import BUNDLED_TEMPLATES
from watcher.base.taxonomy import taxonomy_for
from watcher.base.weeks import (
    PARIS,
    french_month,
    issue_date,
    week_dates,
    week_label,
    week_of,
)
from watcher.exceptions import PublishError, WatcherError
from watcher.publish import calendars, feeds, indicators
from watcher.publish.bulletin import TITLE
from watcher.publish.model import Bulletin, Entry
from watcher.publish.render import render, templates_fingerprint
from watcher.publish.search import BUNDLE, index_size, run_pagefind
from watcher.publish.selection import SECTION_ORDER, build_sections, make_entry
from watcher.publish.writer import SiteWriter
from watcher.settings import Settings
from watcher.store import Store
from watcher.store import bulletins as store_bulletins

LATEST_PER_LIST = 30
ASSETS = BUNDLED_TEMPLATES / "site" / "assets"


@dataclass
class SiteReport:
    site_dir: Path
    pages: int = 0
    written: int = 0
    unchanged: int = 0
    removed: int = 0
    items: int = 0
    bulletins: int = 0
    pagefind_ran: bool = False
    pagefind_s: float = 0.0
    index_files: int = 0
    index_bytes: int = 0
    duration_s: float = 0.0
    written_paths: list[str] = field(default_factory=list)

    def summary(self) -> str:
        search = (
            f"search index rebuilt in {self.pagefind_s:.1f}s"
            if self.pagefind_ran
            else "search index unchanged"
        )
        return (
            f"site: {self.pages} files ({self.written} written, {self.unchanged} unchanged, "
            f"{self.removed} removed), {self.items} items, {self.bulletins} bulletins; "
            f"{search} ({self.index_files} files, {self.index_bytes / 1e6:.1f} MB); "
            f"{self.duration_s:.1f}s -> {self.site_dir}"
        )


def _paris_day(moment: datetime) -> date:
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(PARIS).date()


def partition(first_seen: datetime) -> str:
    """The search-index partition of an item: the quarter it was first seen in.
    Stable for an item, so new items only ever touch the current partition."""
    day = _paris_day(first_seen)
    return f"{day.year}-t{(day.month - 1) // 3 + 1}"


def _key(*parts: Any) -> str:
    """A fingerprint of a page's inputs (plain values whose repr is stable)."""
    return hashlib.md5(repr(parts).encode(), usedforsecurity=False).hexdigest()


def _digest(entry: Entry, *more: Any) -> str:
    """A cheap fingerprint of everything an entry shows (its dataclass repr)."""
    return hashlib.md5(repr((entry, *more)).encode(), usedforsecurity=False).hexdigest()


class Site:
    """Everything the pages need, computed once before anything is written."""

    def __init__(self, store: Store, settings: Settings, today: date) -> None:
        self.settings = settings
        self.today = today
        self.current_week = week_of(today)
        self.names = taxonomy_for(settings).names
        all_rows = store_bulletins.load_items(store)
        for row in all_rows:
            row["_week"] = week_of(row["first_seen"])
        self.rows = [r for r in all_rows if (r.get("labels") or {}).get("relevant")]
        self.entries: list[Entry] = []
        self.row_of: dict[str, dict[str, Any]] = {}
        for row in self.rows:
            entry = make_entry(row, today)
            self.entries.append(entry)
            self.row_of[entry.uid] = row
        self.entries.sort(key=lambda e: (e.date or date.min, e.item_id), reverse=True)
        # What each item shows anywhere (pages, feeds, calendars): keys of unchanged outputs.
        self.sig = {
            e.uid: _digest(e, self.row_of[e.uid].get("summary"), self.row_of[e.uid]["first_seen"])
            for e in self.entries
        }
        self.item_paths = {
            e.uid: f"items/{partition(self.row_of[e.uid]['first_seen'])}/{e.uid}.html"
            for e in self.entries
        }
        self.partitions = sorted({p.split("/")[1] for p in self.item_paths.values()}, reverse=True)
        self.bulletins = self._bulletins(store, all_rows)
        self.in_bulletins: dict[str, list[str]] = defaultdict(list)
        for bulletin in self.bulletins:
            for entry in bulletin.entries:
                self.in_bulletins[entry.uid].append(bulletin.week)
        self.health = store_bulletins.source_contributions(store)

    def _bulletins(self, store: Store, all_rows: list[dict[str, Any]]) -> list[Bulletin]:
        by_week: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in all_rows:
            by_week[row["_week"]].append(row)
        snapshots = {s["week"]: s for s in store_bulletins.published_snapshots(store)}
        curated = store_bulletins.all_entries(store)
        by_id = {r["id"]: r for r in all_rows}
        out = []
        for week in sorted(set(by_week) | set(snapshots), reverse=True):
            if week > self.current_week:
                continue
            if week in snapshots and snapshots[week]["snapshot"]:
                bulletin = Bulletin.from_dict(snapshots[week]["snapshot"])
                bulletin.edition = snapshots[week]["edition"]
                bulletin.status = "published"
            else:
                rows = list(by_week[week])
                entries = curated.get(week)
                if entries:
                    have = {r["id"] for r in rows}
                    rows += [by_id[i] for i in entries if i not in have and i in by_id]
                monday, sunday = week_dates(week)
                bulletin = Bulletin(
                    week=week,
                    title=f"{TITLE} — {week_label(week)}",
                    period=week_label(week),
                    start=monday,
                    end=sunday,
                    issue_date=issue_date(week),
                    mode="curated" if entries else "automatic",
                    sections=build_sections(rows, week, entries, self.settings),
                )
            if not bulletin.is_empty:
                out.append(bulletin)
        return out

    def open_calls(self) -> list[Entry]:
        calls = [
            e
            for e in self.entries
            if e.type == "appel_a_projets" and e.deadline and e.deadline >= self.today
        ]
        return sorted(calls, key=lambda e: (e.deadline, e.item_id))

    def standing_calls(self, limit: int = 30) -> list[Entry]:
        return [e for e in self.entries if e.type == "appel_a_projets" and not e.deadline][:limit]


def _root(rel: str) -> str:
    depth = rel.count("/")
    return "../" * depth if depth else "./"


class Pages:
    """Renders and writes every page of the site through the writer."""

    def __init__(self, site: Site, writer: SiteWriter, settings: Settings) -> None:
        self.site = site
        self.writer = writer
        self.settings = settings
        # Templates and label names: a change to either re-renders every keyed page.
        self.fingerprint = _key(templates_fingerprint(settings), site.names)

    def page(self, rel: str, template: str, key: str | None = None, **context: Any) -> None:
        def produce() -> str:
            return render(
                template,
                self.settings,
                root=_root(rel),
                page=rel,
                site_title=TITLE,
                themes=self.site.names["themes"],
                types=self.site.names["types"],
                item_paths=self.site.item_paths,
                **context,
            )

        self.writer.write(rel, produce, key=_key(self.fingerprint, rel, key) if key else None)

    def write_all(self) -> None:
        site = self.site
        self.assets()
        # The latest bulletin that went out; the week in progress only when none did.
        published = [b for b in site.bulletins if b.status == "published"]
        latest = published[0] if published else (site.bulletins[0] if site.bulletins else None)
        self.page(
            "index.html",
            "site/home.html",
            bulletin=latest,
            sections=[s for s in latest.sections if s.entries] if latest else [],
            calls=site.open_calls()[:10],
            total=len(site.entries),
        )
        self.bulletins()
        self.items()
        self.lists()
        self.page(
            "appels/index.html",
            "site/calls.html",
            calls=site.open_calls(),
            standing=site.standing_calls(),
        )
        self.page("recherche/index.html", "site/search.html", partitions=site.partitions)
        self.page(
            "abonnements/index.html",
            "site/subscribe.html",
            subscribe_url=self.settings.desk.subscription_url(),
        )
        self.indicators()
        self.feeds_and_calendars()

    def assets(self) -> None:
        for path in sorted(ASSETS.iterdir()):
            if path.is_file():
                self.writer.write(f"assets/{path.name}", path.read_bytes())

    def bulletins(self) -> None:
        site = self.site
        by_year: dict[str, list[Bulletin]] = defaultdict(list)
        for bulletin in site.bulletins:
            by_year[bulletin.week[:4]].append(bulletin)
        self.page("bulletins/index.html", "site/bulletins.html", by_year=dict(by_year))
        for n, bulletin in enumerate(site.bulletins):
            newer = site.bulletins[n - 1].week if n > 0 else None
            older = site.bulletins[n + 1].week if n + 1 < len(site.bulletins) else None
            key = _key(
                [(s.id, s.title, [_digest(e) for e in s.entries]) for s in bulletin.sections],
                bulletin.title,
                bulletin.status,
                bulletin.edition,
                bulletin.published_at,
                newer,
                older,
            )
            self.page(
                f"bulletins/{bulletin.week}/index.html",
                "site/bulletin.html",
                key=key,
                bulletin=bulletin,
                sections=[s for s in bulletin.sections if s.entries],
                newer=newer,
                older=older,
            )

    def items(self) -> None:
        site = self.site
        for entry in site.entries:
            row = site.row_of[entry.uid]
            weeks = sorted(site.in_bulletins.get(entry.uid, []))
            labels = row.get("labels") or {}
            # Nothing that depends on today's date: an item page changes only with the item.
            facts = repr(replace(entry, days_left=None))
            key = _key(facts, labels.get("axes"), row.get("summary"), row["first_seen"], weeks)
            self.page(
                site.item_paths[entry.uid],
                "site/item.html",
                key=key,
                e=entry,
                axes=labels.get("axes") or [],
                html_summary=row.get("summary") or "",
                first_seen=_paris_day(row["first_seen"]),
                in_bulletins=weeks,
                year=str((entry.date or site.today).year),
            )

    def lists(self) -> None:
        site = self.site
        groups: dict[tuple[str, str], list[Entry]] = defaultdict(list)
        for entry in site.entries:
            groups[("mois", "")].append(entry)
            for theme in entry.themes:
                groups[("themes", theme)].append(entry)
            if entry.type:
                groups[("types", entry.type)].append(entry)
        self.page(
            "themes/index.html",
            "site/index_list.html",
            heading="Thèmes",
            kind="themes",
            counts={k: len(groups.get(("themes", k), [])) for k in site.names["themes"]},
            labels=site.names["themes"],
        )
        self.page(
            "types/index.html",
            "site/index_list.html",
            heading="Types d'information",
            kind="types",
            counts={k: len(groups.get(("types", k), [])) for k in SECTION_ORDER},
            labels=site.names["types"],
        )
        for (kind, key), entries in groups.items():
            base = "mois" if kind == "mois" else f"{kind}/{key}"
            heading = "Archives par mois" if kind == "mois" else site.names[kind].get(key, key)
            by_month: dict[str, list[Entry]] = defaultdict(list)
            for entry in entries:
                by_month[(entry.date or site.today).strftime("%Y-%m")].append(entry)
            months = sorted(by_month, reverse=True)
            latest = entries[:LATEST_PER_LIST] if kind != "mois" else []
            self.page(
                f"{base}/index.html",
                "site/list.html",
                key=_key(
                    heading,
                    [(m, len(by_month[m])) for m in months],
                    [site.sig[e.uid] for e in latest],
                ),
                heading=heading,
                months=[(m, len(by_month[m])) for m in months],
                entries=latest,
                month=None,
                compact=False,
                feed=(f"feeds/{key}.xml" if kind == "themes" else None),
            )
            for month in months:
                self.page(
                    f"{base}/{month}.html",
                    "site/list.html",
                    key=_key(heading, month, [site.sig[e.uid] for e in by_month[month]]),
                    heading=f"{heading} — {french_month(month)}",
                    months=[],
                    entries=by_month[month],
                    month=month,
                    compact=kind == "mois",  # a whole month: a plain list, not cards
                    feed=None,
                )

    def indicators(self) -> None:
        site = self.site
        weeks = indicators.last_weeks(site.today)
        by_theme = indicators.weekly_counts(site.rows, weeks, "themes")
        by_type = indicators.weekly_counts(site.rows, weeks, "type")
        sources = indicators.source_counts(site.rows, weeks)
        titles = {
            "themes.svg": "Informations par semaine et par thème",
            "types.svg": "Informations par semaine et par type",
            "sources.svg": "Contribution des sources (12 mois)",
        }
        makers = {
            "themes.svg": lambda: indicators.weekly_chart(
                by_theme, site.names["themes"], titles["themes.svg"]
            ),
            "types.svg": lambda: indicators.weekly_chart(
                by_type, site.names["types"], titles["types.svg"]
            ),
            "sources.svg": lambda: indicators.sources_chart(sources, titles["sources.svg"]),
        }
        figures = _key(by_theme, by_type, sources.most_common(), site.names)
        for file_name, make in makers.items():
            self.writer.write(f"indicateurs/{file_name}", make, key=_key(file_name, figures))
        self.page(
            "indicateurs/index.html",
            "site/indicators.html",
            key=_key(figures, site.health),
            weeks=weeks,
            by_theme=by_theme,
            by_type=by_type,
            sources=sources.most_common(),
            health=site.health,
        )

    def feeds_and_calendars(self) -> None:
        site = self.site
        public = self.settings.publish.public_url or ""
        events = calendars.calendar_events(site.rows, site.today)
        newest = sorted(site.rows, key=lambda r: (r["first_seen"], r["id"]), reverse=True)

        def feed(feed_id: str, title: str, rows: list[dict[str, Any]]) -> None:
            top = rows[: feeds.FEED_SIZE]
            path = f"feeds/{feed_id}.xml"
            self.writer.write(
                path,
                lambda: feeds.atom_feed(
                    top,
                    feed_id=feed_id,
                    title=title,
                    names=site.names,
                    public_url=public,
                    self_path=path,
                ),
                key=_key(path, title, public, [self._sig(r) for r in top]),
            )

        def calendar(name: str, title: str, chosen: list[dict[str, Any]]) -> None:
            self.writer.write(
                f"calendriers/{name}.ics",
                lambda: calendars.ics_calendar(chosen, title=title, public_url=public),
                key=_key(
                    name,
                    title,
                    public,
                    [(e["kind"], e["day"], self._sig(e["row"])) for e in chosen],
                ),
            )

        feed("tout", f"{TITLE} — toutes les informations", newest)
        calendar("tout", f"{TITLE} — échéances", events)
        for theme, label in site.names["themes"].items():
            feed(
                theme,
                f"{TITLE} — {label}",
                [r for r in newest if theme in (r["labels"].get("themes") or [])],
            )
            calendar(
                theme,
                f"{TITLE} — {label} — échéances",
                [e for e in events if theme in (e["row"]["labels"].get("themes") or [])],
            )

    def _sig(self, row: dict[str, Any]) -> tuple:
        return (row["uid"], self.site.sig.get(row["uid"]), row.get("published"))


def build_site(store: Store, settings: Settings, *, today: date | None = None) -> SiteReport:
    """Build the archive into `publish.site_dir` (atomically, incrementally)."""
    started = time.perf_counter()
    today = today or paris_today()
    target = Path(settings.publish.site_dir)
    report = SiteReport(site_dir=target)
    writer = SiteWriter(target)
    try:
        site = Site(store, settings, today)
        Pages(site, writer, settings).write_all()
        todo = []
        for part in site.partitions:
            if writer.changed_matching(f"items/{part}/") or not writer.reuse_tree(
                f"{BUNDLE}/{part}"
            ):
                todo.append(part)
        if todo:
            for part in todo:
                writer.materialize(f"items/{part}/")
            report.pagefind_s = run_pagefind(writer.tmp, todo)
            report.pagefind_ran = True
        report.removed = len(set(writer.old_manifest) - set(writer.manifest))
        writer.commit()
    except WatcherError:
        writer.abort()
        raise
    except Exception as exc:
        writer.abort()
        raise PublishError(
            f"site build failed, the previous site in {target} is unchanged: {exc}"
        ) from exc
    report.index_files, report.index_bytes = index_size(target)
    report.items = len(site.entries)
    report.bulletins = len(site.bulletins)
    report.pages = len(writer.manifest)
    report.written = len(writer.written)
    report.unchanged = len(writer.unchanged)
    report.written_paths = list(writer.written)
    report.duration_s = time.perf_counter() - started
    return report
