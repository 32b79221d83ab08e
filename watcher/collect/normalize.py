"""The one place where a collected item is made fit to store, whatever its kind.

Every item a spider callback saves goes through :func:`normalize_item` (in
``WatchSpider.save_new``), so a kind's parser need not repeat it: a date out of
a sane range becomes None (the item is kept, only its date is dropped) and
titles, summaries and texts lose control and invisible characters
(``watcher.base.clean``). Left in, such a date overflows the store's UTC
conversion and fails the source's whole save, and such a character breaks the
Atom feed of every later site build.
"""

from __future__ import annotations

import logging
from dataclasses import replace
from datetime import datetime

from watcher.base.clean import clean_text, sane_moment
from watcher.models import CollectedItem

logger = logging.getLogger(__name__)


def normalize_item(item: CollectedItem, now: datetime | None = None) -> CollectedItem:
    """A copy of `item` with a sane date (or None) and clean text fields."""
    published = sane_moment(item.published, now)
    if item.published is not None and published is None:
        logger.info("item %s: date %r out of range, dropped", item.url, item.published)
    return replace(
        item,
        title=clean_text(item.title),
        summary=clean_text(item.summary),
        text=clean_text(item.text, keep_lines=True),
        published=published,
    )
