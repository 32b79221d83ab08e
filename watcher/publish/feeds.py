"""Atom feeds (feedgen), one for everything and one per theme, and their OPML list.

Entry ids are tag URIs built from the item's stable ``uid`` and entry dates
are the item's first-seen time, so a rebuild never shows an old item as new.
A call's closing date and an event's dates are written in the entry's content
and as categories (scheme ``…:date-limite`` / ``…:evenement``, term the ISO
date). Without ``publish.public_url`` the feed has no self link (an invented
address would be worse than none) and entries link to the originals.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from xml.etree import ElementTree

from feedgen.feed import FeedGenerator

from watcher.base.clean import clean_text, sane_moment
from watcher.base.weeks import french_date
from watcher.publish.dates import event_when
from watcher.publish.model import Entry

FEED_SIZE = 50
TAG = "tag:veille-eit-grand-est.fr,2026"
DEADLINE_SCHEME = f"{TAG}:date-limite"
EVENT_SCHEME = f"{TAG}:evenement"


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime(2000, 1, 1, tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def dates_text(entry: Entry) -> list[str]:
    """The dates a reader acts on, in French: the closing date, the event's."""
    lines = []
    if entry.deadline and entry.type == "appel_a_projets":
        lines.append(f"Date limite : {french_date(entry.deadline)}")
    if entry.event is not None:
        where = f" — {entry.event.place}" if entry.event.place else ""
        lines.append(f"Quand : {event_when(entry.event)}{where}")
    return lines


def atom_feed(
    rows: list[dict[str, Any]],
    *,
    feed_id: str,
    title: str,
    names: dict[str, dict[str, str]],
    entry_of: Callable[[dict[str, Any]], Entry],
    link: Callable[[Entry], str],
    public_url: str = "",
    self_path: str = "",
    page_path: str = "",
) -> bytes:
    """An Atom document of the newest items of `rows`; `entry_of(row)` gives each
    one as the site shows it, `link(entry)` its URL; ``names`` gives the labels'
    French names (``Taxonomy.names``)."""
    newest = sorted(rows, key=lambda r: (_aware(r["first_seen"]), r["id"]), reverse=True)
    newest = newest[:FEED_SIZE]
    fg = FeedGenerator()
    fg.id(f"{TAG}:feed/{feed_id}")
    fg.title(title)
    fg.language("fr")
    fg.author({"name": "Veille EIT Grand Est"})
    base = public_url.rstrip("/")
    if base:
        fg.link(href=f"{base}/{self_path}", rel="self")
        fg.link(href=f"{base}/{page_path}", rel="alternate")
    fg.updated(_aware(newest[0]["first_seen"]) if newest else _aware(None))
    for row in reversed(newest):  # feedgen prepends: add oldest first
        entry = entry_of(row)
        item = fg.add_entry()
        item.id(f"{TAG}:item/{row['uid']}")
        # lxml refuses a control character with an error that would fail the whole
        # build: every text is cleaned here too, whatever `entry_of` already did.
        item.title(clean_text(entry.title))
        url = link(entry)
        if url:
            item.link(href=url, rel="alternate")
        item.updated(_aware(row["first_seen"]))
        # An absurd stored date (year 9999) is no publication date: first seen instead.
        item.published(_aware(sane_moment(row.get("published")) or row["first_seen"]))
        if entry.summary:
            item.summary(clean_text(entry.summary), type="text")
        dates = dates_text(entry)
        if dates or not url:  # Atom wants a link or a content
            content = "\n".join([*dates, entry.summary or entry.title])
            item.content(clean_text(content, keep_lines=True), type="text")
        for theme in entry.themes:
            item.category(term=theme, label=clean_text(names["themes"].get(theme, theme)))
        if entry.type:
            label = clean_text(names["types"].get(entry.type, entry.type))
            item.category(term=entry.type, label=label)
        if entry.deadline and entry.type == "appel_a_projets":
            item.category(
                term=entry.deadline.isoformat(),
                scheme=DEADLINE_SCHEME,
                label=f"Date limite : {french_date(entry.deadline)}",
            )
        if entry.event is not None:
            start = entry.event.to_dict()["start"]
            label = clean_text(f"Quand : {event_when(entry.event)}")
            item.category(term=start, scheme=EVENT_SCHEME, label=label)
    return fg.atom_str(pretty=True)


def opml(feeds: list[tuple[str, str, str]], *, title: str, public_url: str = "") -> bytes:
    """An OPML 2.0 list of feeds `(title, feed path, page path)` (paths from the
    site root). Addresses are absolute with ``public_url``; otherwise relative to
    the OPML file in ``feeds/`` (a reader importing the file by its URL resolves them)."""
    base = public_url.rstrip("/")
    root = ElementTree.Element("opml", version="2.0")
    head = ElementTree.SubElement(root, "head")
    ElementTree.SubElement(head, "title").text = title
    body = ElementTree.SubElement(root, "body")
    group = ElementTree.SubElement(body, "outline", text=title, title=title)
    for name, feed_path, page_path in feeds:
        outline = {
            "type": "rss",  # OPML's word for any feed, Atom included
            "text": name,
            "title": name,
            "xmlUrl": f"{base}/{feed_path}" if base else feed_path.removeprefix("feeds/"),
            "htmlUrl": f"{base}/{page_path}" if base else f"../{page_path}",
        }
        ElementTree.SubElement(group, "outline", outline)
    ElementTree.indent(root)
    return ElementTree.tostring(root, encoding="utf-8", xml_declaration=True) + b"\n"
