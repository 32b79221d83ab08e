"""Atom feeds (feedgen): one for everything, one per theme.

Entry ids are tag URIs built from the item's stable ``uid`` and entry dates
are the item's first-seen time, so a rebuild never shows an old item as new.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from feedgen.feed import FeedGenerator

from watcher.publish.sanitize import plain_text, safe_url

FEED_SIZE = 50
TAG = "tag:veille-eit-grand-est.fr,2026"


def _aware(moment: datetime | None) -> datetime:
    if moment is None:
        return datetime(2000, 1, 1, tzinfo=UTC)
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def atom_feed(
    rows: list[dict[str, Any]],
    *,
    feed_id: str,
    title: str,
    names: dict[str, dict[str, str]],
    public_url: str = "",
    self_path: str = "",
) -> bytes:
    """An Atom document of the newest items of `rows` (item dicts with labels);
    ``names`` gives the labels' French names (``Taxonomy.names``)."""
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
        fg.link(href=f"{base}/", rel="alternate")
    else:
        fg.link(href=f"https://veille.invalid/{self_path}", rel="self")
    fg.updated(_aware(newest[0]["first_seen"]) if newest else _aware(None))
    for row in reversed(newest):  # feedgen prepends: add oldest first
        labels = row.get("labels") or {}
        entry = fg.add_entry()
        entry.id(f"{TAG}:item/{row['uid']}")
        entry.title(plain_text(row.get("title")) or "(sans titre)")
        link = f"{base}/items/{row['uid']}.html" if base else safe_url(row.get("url"))
        if link:
            entry.link(href=link, rel="alternate")
        entry.updated(_aware(row["first_seen"]))
        entry.published(_aware(row.get("published") or row["first_seen"]))
        summary = plain_text(row.get("summary")) or plain_text(row.get("text"))[:400]
        if summary:
            entry.summary(summary[:600], type="text")
        if not link:  # Atom wants a link or a content: the text stands in for the link
            entry.content(summary[:600] or entry.title(), type="text")
        for theme in labels.get("themes") or []:
            entry.category(term=theme, label=names["themes"].get(theme, theme))
        if labels.get("type"):
            entry.category(
                term=labels["type"], label=names["types"].get(labels["type"], labels["type"])
            )
    return fg.atom_str(pretty=True)
