"""Every page, feed, calendar and search bundle of the site, written through the writer.

``Pages(site, writer, settings)`` reads the `watcher.publish.site.Site` built in
memory; each keyed output is rendered only when its key (the signatures of
what it shows) changed since the previous build.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable
from hashlib import sha256
from typing import TYPE_CHECKING, Any

from watcher.base.clock import paris_date
from watcher.base.resources import BUNDLED_TEMPLATES
from watcher.base.weeks import french_date, french_month
from watcher.publish import calendar_view, calendars, feeds, indicators, search
from watcher.publish.bulletin import TITLE
from watcher.publish.dates import event_when
from watcher.publish.model import Bulletin, Entry
from watcher.publish.render import render, templates_fingerprint
from watcher.publish.sanitize import plain_text
from watcher.publish.selection import SECTION_ORDER
from watcher.publish.writer import SiteWriter, key_of
from watcher.settings import Settings
from watcher.store.bulletins import revise_events, text_heads

if TYPE_CHECKING:
    from watcher.publish.site import Site, SiteReport

LATEST_PER_LIST = 30
ASSETS = BUNDLED_TEMPLATES / "site" / "assets"
ALL = "tout"  # the calendars and feeds of every theme


def _root(rel: str) -> str:
    depth = rel.count("/")
    return "../" * depth if depth else "./"


class Pages:
    def __init__(self, site: Site, writer: SiteWriter, settings: Settings) -> None:
        self.site = site
        self.writer = writer
        self.settings = settings
        self.public = (settings.publish.public_url or "").rstrip("/")
        # Templates and label names: a change to either re-renders every keyed page.
        self.fingerprint = key_of(templates_fingerprint(settings), site.names)
        self.ics_cache: dict[str, str] = writer.old_state.get("ics", {})

    def page(
        self,
        rel: str,
        template: str,
        key: str | None = None,
        context: Callable[[], dict[str, Any]] | None = None,
        **values: Any,
    ) -> None:
        """Write `rel` from `template`; `context()` is called only when the page is
        rendered (an unchanged `key` skips it)."""

        def produce() -> str:
            everything = {
                "root": _root(rel),
                "page": rel,
                "site_title": TITLE,
                "themes": self.site.names["themes"],
                "types": self.site.names["types"],
                "item_paths": self.site.item_paths,
                "theme": None,  # a theme's pages autodiscover its own feed
                **(context() if context else {}),
                **values,
            }
            return render(template, self.settings, **everything)

        self.writer.write(rel, produce, key=key_of(self.fingerprint, rel, key) if key else None)

    def link(self, entry: Entry) -> str:
        """An item's address in feeds and calendars: its page on the public site, else
        the original."""
        return f"{self.public}/{self.site.item_paths[entry.uid]}" if self.public else entry.url

    def write_all(self) -> None:
        site = self.site
        self.assets()
        # The latest bulletin that went out; the week in progress only when none did.
        published = [b for b in site.bulletins if b.status == "published"]
        latest = published[0] if published else (site.bulletins[0] if site.bulletins else None)
        calls = site.open_calls()
        self.page(
            "index.html",
            "site/home.html",
            bulletin=latest,
            sections=[s for s in latest.sections if s.entries] if latest else [],
            calls=site.entries(calls[:10]),
            total=len(site.rows),
        )
        self.bulletins()
        self.items()
        self.lists()
        self.page(
            "appels/index.html",
            "site/calls.html",
            calls=site.entries(calls),
            standing=site.entries(site.standing_calls()),
        )
        self.page(
            "abonnements/index.html",
            "site/subscribe.html",
            public_url=self.public,
            subscribe_url=self.settings.desk.subscription_url(),
        )
        self.indicators()
        self.feeds_and_calendars()
        self.calendar_pages()

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
            key = key_of(repr(bulletin.sections), bulletin.title, bulletin.status)
            key = key_of(key, bulletin.edition, bulletin.published_at, newer, older)
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
        for row in site.rows:
            weeks = sorted(site.in_bulletins.get(row["uid"], []))

            def context(row: dict[str, Any] = row, weeks: list[str] = weeks) -> dict[str, Any]:
                return {
                    "e": site.entry(row),
                    "axes": row["labels"].get("axes") or [],
                    "html_summary": row.get("summary") or "",
                    "first_seen": paris_date(row["first_seen"]),
                    "in_bulletins": weeks,
                }

            # Nothing that depends on today's date: an item page changes only with the item.
            self.page(
                row["_path"], "site/item.html", key=key_of(row["_sig"], weeks), context=context
            )

    def lists(self) -> None:
        site = self.site
        groups: dict[tuple[str, str], list[dict[str, Any]]] = defaultdict(list)
        for row in site.rows:
            groups[("mois", "")].append(row)
            for theme in row["labels"].get("themes") or []:
                groups[("themes", theme)].append(row)
            if row["labels"].get("type"):
                groups[("types", row["labels"]["type"])].append(row)
        for kind, heading, keys in (
            ("themes", "Thèmes", list(site.names["themes"])),
            ("types", "Types d'information", list(SECTION_ORDER)),
        ):
            self.page(
                f"{kind}/index.html",
                "site/index_list.html",
                heading=heading,
                kind=kind,
                counts={k: len(groups.get((kind, k), [])) for k in keys},
                labels=site.names[kind],
            )
        for (kind, key), rows in groups.items():
            self.list_pages(kind, key, rows)

    def list_pages(self, kind: str, key: str, rows: list[dict[str, Any]]) -> None:
        site = self.site
        base = "mois" if kind == "mois" else f"{kind}/{key}"
        heading = "Archives par mois" if kind == "mois" else site.names[kind].get(key, key)
        theme = key if kind == "themes" else None
        by_month: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in rows:
            by_month[row["_day"].strftime("%Y-%m")].append(row)
        months = [(m, len(by_month[m])) for m in sorted(by_month, reverse=True)]
        latest = rows[:LATEST_PER_LIST] if kind != "mois" else []
        self.page(
            f"{base}/index.html",
            "site/list.html",
            key=key_of(heading, months, [site.sig(r) for r in latest]),
            context=lambda: {"entries": site.entries(latest)},
            heading=heading,
            months=months,
            month=None,
            compact=False,
            theme=theme,
        )
        for month, _count in months:
            chosen = by_month[month]
            compact = kind == "mois"  # a whole month: a plain list, not cards
            sigs = [r["_sig"] for r in chosen] if compact else [site.sig(r) for r in chosen]
            self.page(
                f"{base}/{month}.html",
                "site/list.html",
                key=key_of(heading, month, sigs),
                context=lambda chosen=chosen: {"entries": site.entries(chosen)},
                heading=f"{heading} — {french_month(month)}",
                months=[],
                month=month,
                compact=compact,
                theme=theme,
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
        figures = key_of(by_theme, by_type, sources.most_common(), site.names)
        for file_name, make in makers.items():
            self.writer.write(f"indicateurs/{file_name}", make, key=key_of(file_name, figures))
        self.page(
            "indicateurs/index.html",
            "site/indicators.html",
            key=key_of(figures, site.health),
            weeks=weeks,
            by_theme=by_theme,
            by_type=by_type,
            sources=sources.most_common(),
            health=site.health,
        )

    def scopes(self) -> list[tuple[str, str]]:
        """(id, French name) of "every theme" then each theme: feeds and calendars."""
        return [(ALL, "toutes les informations"), *self.site.names["themes"].items()]

    def _of_theme(self, theme: str, rows: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return rows if theme == ALL else [r for r in rows if theme in r["labels"]["themes"]]

    def feeds_and_calendars(self) -> None:
        site = self.site
        newest = sorted(site.rows, key=lambda r: (r["first_seen"], r["id"]), reverse=True)
        upcoming = calendars.upcoming(site.dated, site.today)
        events = self.revised_events(upcoming)
        for theme, name in self.scopes():
            top = self._of_theme(theme, newest)[: feeds.FEED_SIZE]
            path = f"feeds/{theme}.xml"
            page_path = "index.html" if theme == ALL else f"themes/{theme}/index.html"
            self.writer.write(
                path,
                lambda top=top, theme=theme, name=name, path=path, page_path=page_path: (
                    feeds.atom_feed(
                        top,
                        feed_id=theme,
                        title=f"{TITLE} — {name}",
                        names=site.names,
                        entry_of=site.entry,
                        link=self.link,
                        public_url=self.public,
                        self_path=path,
                        page_path=page_path,
                    )
                ),
                key=key_of(path, name, self.public, [r["_sig"] for r in top]),
            )
            chosen = [d for d in upcoming if theme == ALL or theme in d.row["labels"]["themes"]]
            title = f"{TITLE} — {name} — agenda et échéances"
            self.writer.write(
                f"calendriers/{theme}.ics",
                lambda chosen=chosen, title=title: calendars.ics_document(
                    [events[d].encode("utf-8") for d in chosen], title=title
                ),
                key=key_of(title, self.public, [events[d] for d in chosen]),
            )
        listed = [
            (f"{TITLE} — {name}", f"feeds/{theme}.xml", f"themes/{theme}/index.html")
            for theme, name in site.names["themes"].items()
        ]
        everything = (f"{TITLE} — toutes les informations", f"feeds/{ALL}.xml", "index.html")
        self.writer.write(
            "feeds/veille.opml",
            feeds.opml([everything, *listed], title=TITLE, public_url=self.public),
        )

    def vevent(self, item: calendars.Dated) -> str:
        """An item's VEVENT without its revision, made once per item and kept for the
        next build (the calendars hold thousands of them and change with every new event)."""
        key = key_of(item.kind, item.row["_sig"], self.public)
        text = self.ics_cache.get(key)
        if text is None:
            entry = self.site.entry(item.row)
            text = calendars.vevent(item, entry, self.link(entry)).decode("utf-8")
        self.writer.state.setdefault("ics", {})[key] = text
        return text

    def revised_events(self, items: list[calendars.Dated]) -> dict[calendars.Dated, str]:
        """Each item's VEVENT with its SEQUENCE and LAST-MODIFIED: the store keeps
        them by content, so a rebuild writes the same bytes and a change (a
        deadline a curator corrected) gets the next SEQUENCE."""
        texts = {item: self.vevent(item) for item in items}
        uids = {item: calendars.event_uid(text) for item, text in texts.items()}
        hashes = {
            uids[item]: sha256(text.encode("utf-8")).hexdigest() for item, text in texts.items()
        }
        revisions = revise_events(self.site.store, hashes)
        return {
            item: calendars.with_revision(text, *revisions[uids[item]])
            for item, text in texts.items()
        }

    def calendar_pages(self) -> None:
        site = self.site
        months = calendar_view.months(site.dated, site.today)
        current = calendar_view.month_id(site.today)
        for theme, _name in self.scopes():
            chosen = [d for d in site.dated if theme == ALL or theme in d.row["labels"]["themes"]]
            happenings = calendar_view.by_month(chosen)
            folder = "calendrier" if theme == ALL else f"calendrier/{theme}"
            for month in months:
                on_month = happenings.get(month, [])
                previous, following = calendar_view.neighbours(month, months)
                today = site.today if month == current else None
                # `current`: every month links « Mois en cours », which moves at a new month.
                key = key_of(
                    theme, month, previous, following, today, current, months[0], months[-1]
                )
                key = key_of(
                    key, [(d, h.kind, h.continued, h.item.row["_sig"]) for d, h in on_month]
                )
                for rel in [f"{folder}/{month}.html"] + (
                    [f"{folder}/index.html"] if month == current else []
                ):
                    self.page(
                        rel,
                        "site/calendar.html",
                        key=key,
                        context=lambda on_month=on_month, month=month: {
                            "weeks": calendar_view.month_grid(month, on_month, site.today),
                            "count": len({id(h.item) for _d, h in on_month}),
                        },
                        month=month,
                        current=current,
                        theme=None if theme == ALL else theme,
                        previous=previous,
                        following=following,
                        months=months,
                    )

    def search_record(self, row: dict[str, Any], text: str, bundle: str) -> search.SearchRecord:
        entry = self.site.entry(row)
        names = self.site.names
        day = entry.date or paris_date(row["first_seen"])
        filters = {
            "theme": list(entry.themes),
            "type": [entry.type] if entry.type else [],
            "scope": [entry.scope] if entry.scope else [],
            "year": [str(day.year)],
            "bundle": [bundle],  # the search page asks each bundle for its sorted results
        }
        # Bundles hold consecutive periods of first sight: sorted by that day, the
        # search page reads them one after the other instead of merging them.
        sort = {"date": paris_date(row["first_seen"]).isoformat()}
        meta = {
            "date_fr": french_date(day),
            "type": names["types"].get(entry.type or "", ""),
            "themes": " · ".join(names["themes"].get(t, t) for t in entry.themes),
        }
        if entry.type == "appel_a_projets" and entry.deadline:
            filters["cloture"] = [entry.deadline.isoformat()]
            sort["deadline"] = entry.deadline.isoformat()
            meta["deadline"] = entry.deadline.isoformat()
            meta["deadline_fr"] = french_date(entry.deadline)
        if entry.event is not None:
            place = f" — {entry.event.place}" if entry.event.place else ""
            meta["event"] = f"{event_when(entry.event)}{place}"
        return search.SearchRecord(
            path=row["_path"],
            title=entry.title,
            body=[entry.summary, plain_text(text)],
            filters={k: v for k, v in filters.items() if v},
            sort=sort,
            meta=meta,
        )

    def search_index(self, report: SiteReport) -> None:
        """Rebuild the search bundles whose items changed, keep the others, then write
        the search page (it lists the bundles)."""
        site, writer = self.site, self.writer
        chars = self.settings.publish.search_text_chars
        members: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in site.rows:
            members[search.bundle_of(paris_date(row["first_seen"]), site.today)].append(row)
        previous = writer.old_state.get("search", {})
        state: dict[str, dict[str, Any]] = {}
        todo: dict[str, list[dict[str, Any]]] = {}
        for bundle, rows in members.items():
            key = key_of(
                search.RECORD_VERSION,
                site.names,  # the results' type and theme names
                chars,
                sorted((r["_path"], r["_sig"]) for r in rows),
            )
            old = previous.get(bundle, {})
            if old.get("key") == key and writer.reuse_tree(f"{search.BUNDLE}/{bundle}"):
                state[bundle] = old
            else:
                todo[bundle] = rows
                state[bundle] = {"key": key}
        if todo:
            ids = [r["id"] for rows in todo.values() for r in rows]
            texts = text_heads(site.store, ids, chars) if chars > 0 else {}
            records = {
                bundle: [self.search_record(r, texts.get(r["id"], ""), bundle) for r in rows]
                for bundle, rows in todo.items()
            }
            report.pagefind_s = search.index_bundles(
                writer.tmp, records, staging_dir=writer.scratch()
            )
            report.pagefind_ran = True
            report.bundles_indexed = search.bundle_order(todo)
            for bundle in todo:
                state[bundle].update(search.bundle_facts(writer.tmp / search.BUNDLE / bundle))
        writer.state["search"] = state
        report.index_files = sum(s.get("files", 0) for s in state.values())
        report.index_bytes = sum(s.get("bytes", 0) for s in state.values())
        years = sorted({str(r["_day"].year) for r in site.rows}, reverse=True)
        # The calls' closing dates, per bundle: « open calls » asks only the bundles
        # that hold some, without reading any filter index first.
        closing: dict[str, set[str]] = defaultdict(set)
        for item in site.dated:
            if item.kind == calendars.CLOSING:
                bundle = search.bundle_of(paris_date(item.row["first_seen"]), site.today)
                closing[bundle].add(item.day.isoformat())
        self.page(
            "recherche/index.html",
            "site/search.html",
            bundles=[
                {
                    "name": name,
                    "tag": state[name]["key"][:12],
                    "meta": state[name].get("meta", ""),
                    "closing": " ".join(sorted(closing.get(name, ()))),
                }
                for name in search.bundle_order(state)
            ],
            years=years,
            scopes=site.names["scopes"],
            every_item=search.EVERY_ITEM,
        )
