"""The static archive site: `build_site(store, settings) -> SiteReport`.

Two phases (as Pelican's writers): first what every page needs is computed
in memory (items, bulletins, groupings, keys), then every output is written
through a `SiteWriter` into a temporary folder that is swapped in at the end.

A rebuild costs little when little changed: each item row gets a signature of
everything it shows, pages are keyed by the signatures of what they show (an
unchanged key reuses the previous file without rendering), bulletin entries
are made only for the pages rendered, and the search index is rebuilt only
for the bundles whose items changed (`watcher.publish.search`).
"""

from __future__ import annotations

import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any

from watcher.base.clock import paris_date, paris_today
from watcher.base.taxonomy import taxonomy_for
from watcher.base.weeks import week_of
from watcher.exceptions import PublishError, WatcherError
from watcher.publish import calendars
from watcher.publish.bulletin import week_bulletin
from watcher.publish.model import Bulletin, Entry
from watcher.publish.pages import Pages
from watcher.publish.render import days_left_text
from watcher.publish.selection import as_date, make_entry
from watcher.publish.writer import SiteWriter, key_of
from watcher.settings import Settings
from watcher.store import Store
from watcher.store import bulletins as store_bulletins


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
    bundles_indexed: list[str] = field(default_factory=list)
    index_files: int = 0
    index_bytes: int = 0
    duration_s: float = 0.0
    written_paths: list[str] = field(default_factory=list)

    def summary(self) -> str:
        search = (
            f"search index: {', '.join(self.bundles_indexed)} rebuilt in {self.pagefind_s:.1f}s"
            if self.pagefind_ran
            else "search index unchanged"
        )
        return (
            f"site: {self.pages} files ({self.written} written, {self.unchanged} unchanged, "
            f"{self.removed} removed), {self.items} items, {self.bulletins} bulletins; "
            f"{search} ({self.index_files} files, {self.index_bytes / 1e6:.1f} MB); "
            f"{self.duration_s:.1f}s -> {self.site_dir}"
        )


def partition(first_seen: datetime) -> str:
    """The folder of an item's page: the quarter it was first seen in. Stable for
    an item, so its address never changes."""
    day = paris_date(first_seen)
    return f"{day.year}-t{(day.month - 1) // 3 + 1}"


def _row_signature(row: dict[str, Any]) -> str:
    """Everything an item shows anywhere (pages, feeds, calendars, search), except
    what depends on today's date; ``content_hash`` follows the title and full text."""
    return key_of(
        row["uid"],
        row.get("title"),
        row.get("summary"),
        row.get("url"),
        row.get("labels"),
        row.get("event"),
        row.get("published"),
        row["first_seen"],
        row.get("source_names"),
        row.get("content_hash") or row.get("text"),
    )


class Site:
    """Everything the pages need, computed once before anything is written.

    ``rows`` are the relevant items, newest first, each with ``_sig`` (its
    signature), ``_day`` (the date it shows), ``_path`` (its page); entries are
    made on demand (``entry``) for the pages that are rendered."""

    def __init__(
        self,
        store: Store,
        settings: Settings,
        today: date,
        cache: dict[str, Any] | None = None,
    ) -> None:
        """``cache``: what the previous build kept (``SiteWriter.old_state``); what
        this build keeps goes to ``self.state``."""
        self.store = store
        self.cache = cache or {}
        self.state: dict[str, Any] = {}
        self.settings = settings
        self.today = today
        self.current_week = week_of(today)
        self.names = taxonomy_for(settings).names
        all_rows = store_bulletins.load_items(store)
        for row in all_rows:
            row["_week"] = week_of(row["first_seen"])
            row["_sig"] = _row_signature(row)
        self.rows = [r for r in all_rows if (r.get("labels") or {}).get("relevant")]
        for row in self.rows:
            row["_day"] = as_date(row.get("published")) or as_date(row["first_seen"])
            row["_path"] = f"items/{partition(row['first_seen'])}/{row['uid']}.html"
        self.rows.sort(key=lambda r: (r["_day"], r["id"]), reverse=True)
        self.row_of = {row["uid"]: row for row in self.rows}
        self.item_paths = {row["uid"]: row["_path"] for row in self.rows}
        self._entries: dict[str, Entry] = {}
        self.bulletins = self._bulletins(store, all_rows)
        self.in_bulletins: dict[str, list[str]] = defaultdict(list)
        for bulletin in self.bulletins:
            for entry in bulletin.entries:
                self.in_bulletins[entry.uid].append(bulletin.week)
        self.health = store_bulletins.source_contributions(store)
        self.dated = calendars.dated_items(self.rows)

    def entry(self, row: dict[str, Any]) -> Entry:
        """The row as the site shows it (days left counted from today)."""
        uid = row["uid"]
        if uid not in self._entries:
            self._entries[uid] = make_entry(row, self.today)
        return self._entries[uid]

    def entries(self, rows: list[dict[str, Any]]) -> list[Entry]:
        return [self.entry(row) for row in rows]

    def sig(self, row: dict[str, Any]) -> tuple[str, str]:
        """A row's signature with what today changes on a card (the days left)."""
        deadline = as_date((row.get("labels") or {}).get("deadline"))
        left = days_left_text((deadline - self.today).days) if deadline else ""
        return row["_sig"], left

    def _bulletins(self, store: Store, all_rows: list[dict[str, Any]]) -> list[Bulletin]:
        """Every bulletin up to this week, newest first: published ones as frozen,
        the others as the selection makes them (kept from the previous build when
        nothing they depend on changed)."""
        by_week: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in all_rows:
            by_week[row["_week"]].append(row)
        snapshots = {s["week"]: s for s in store_bulletins.published_snapshots(store)}
        curated = store_bulletins.all_entries(store)
        by_id = {r["id"]: r for r in all_rows}
        publish = self.settings.publish
        rules = key_of(publish.score_threshold, publish.cap_per_section, self.names)
        previous = self.cache.get("bulletins", {})
        kept = self.state["bulletins"] = {}
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
                key = key_of(week, rules, entries, sorted((r["_sig"], r["score"]) for r in rows))
                if previous.get(week, {}).get("key") == key:
                    bulletin = Bulletin.from_dict(previous[week]["bulletin"])
                    kept[week] = previous[week]
                else:
                    bulletin = week_bulletin(week, rows, entries, self.settings)
                    kept[week] = {"key": key, "bulletin": bulletin.to_dict()}
            if not bulletin.is_empty:
                out.append(bulletin)
        return out

    def open_calls(self) -> list[dict[str, Any]]:
        calls = []
        for row in self.rows:
            labels = row["labels"]
            deadline = as_date(labels.get("deadline"))
            if labels.get("type") == "appel_a_projets" and deadline and deadline >= self.today:
                calls.append((deadline, row["id"], row))
        return [row for _deadline, _id, row in sorted(calls, key=lambda c: c[:2])]

    def standing_calls(self, limit: int = 30) -> list[dict[str, Any]]:
        return [
            r
            for r in self.rows
            if r["labels"].get("type") == "appel_a_projets" and not r["labels"].get("deadline")
        ][:limit]


def build_site(store: Store, settings: Settings, *, today: date | None = None) -> SiteReport:
    """Build the archive into `publish.site_dir` (atomically, incrementally)."""
    started = time.perf_counter()
    today = today or paris_today()
    target = Path(settings.publish.site_dir)
    report = SiteReport(site_dir=target)
    writer = SiteWriter(target, setting="publish.site_dir")
    try:
        site = Site(store, settings, today, writer.old_state)
        writer.state.update(site.state)
        pages = Pages(site, writer, settings)
        pages.write_all()
        pages.search_index(report)
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
    report.items = len(site.rows)
    report.bulletins = len(site.bulletins)
    report.pages = len(writer.manifest)
    report.written = len(writer.written)
    report.unchanged = len(writer.unchanged)
    report.written_paths = list(writer.written)
    report.duration_s = time.perf_counter() - started
    return report
