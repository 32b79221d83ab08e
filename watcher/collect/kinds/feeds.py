"""rss / atom: feedparser on the response bytes (feedparser never opens a connection here)."""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.http import Response

from watcher.collect.kinds.common import looks_like_html, plain_text
from watcher.models import CollectedItem

if TYPE_CHECKING:
    from watcher.collect.spider import SourceRun, WatchSpider

_CHARSET_ERRORS = ("CharacterEncodingOverride", "CharacterEncodingUnknown")


def start(spider: WatchSpider, run: SourceRun) -> list[Request]:
    handler = lambda response, run: parse(spider, response, run)  # noqa: E731
    return [spider.request(run, run.source.url, handler, main=True, conditional=True, priority=10)]


def _published(entry: dict) -> datetime | None:
    for key in ("published_parsed", "updated_parsed", "created_parsed"):
        value = entry.get(key)
        if value:
            try:
                return datetime.fromtimestamp(calendar.timegm(value), UTC)
            except (OverflowError, ValueError):
                continue
    return None


def entries_to_items(source_id: str, parsed: dict) -> list[CollectedItem]:
    items = []
    for entry in parsed.get("entries", []):
        links = [x.get("href") for x in entry.get("links", []) if x.get("href")]
        link = entry.get("link") or (links[0] if links else None)
        if not link:
            continue
        content = " ".join(
            plain_text(c.get("value"), 100_000) for c in entry.get("content", []) or []
        )
        extra = {}
        if entry.get("id") and entry.get("id") != link:
            extra["entry_id"] = str(entry["id"])[:500]
        enclosures = [e.get("href") for e in entry.get("enclosures", []) or [] if e.get("href")]
        if enclosures:
            extra["enclosures"] = enclosures[:10]
        items.append(
            CollectedItem(
                source_id=source_id,
                url=link,
                title=plain_text(entry.get("title"), 1000),
                summary=plain_text(entry.get("summary"), 5000),
                text=content,
                published=_published(entry),
                extra=extra,
            )
        )
    return items


@dataclass
class FeedReading:
    """What a feed body gave: its items, and a problem ``(kind, message)`` that
    is fatal (nothing usable) or a warning (items recovered)."""

    items: list[CollectedItem]
    problem: tuple[str, str] | None = None
    fatal: bool = False


def read_feed(source_id: str, body: bytes, content_type: str = "", url: str = "") -> FeedReading:
    """Parse an RSS or Atom body (no network: feedparser reads the bytes)."""
    import feedparser

    where = url or "the response"
    if looks_like_html(body):
        return FeedReading([], ("not_a_feed", f"{where} answered an HTML page, not a feed"), True)
    # No Content-Type at all is not an error: feedparser then reads the XML declaration.
    headers = {"content-type": content_type} if content_type else {}
    parsed = feedparser.parse(body, response_headers=headers)
    items = entries_to_items(source_id, parsed)
    problem = parsed.get("bozo_exception")
    if problem is not None:
        name = type(problem).__name__
        if not items:
            kind = "charset" if name in _CHARSET_ERRORS else "malformed"
            return FeedReading([], (kind, f"not a readable feed: {name}: {problem}"), True)
        if name in _CHARSET_ERRORS:
            return FeedReading(items, ("charset", f"{problem}; read as {parsed.get('encoding')}"))
        message = f"malformed feed, {len(items)} entries recovered: {name}: {problem}"
        return FeedReading(items, ("malformed", message))
    if not items and not parsed.get("feed"):
        return FeedReading([], ("malformed", f"{where} is not an RSS or Atom feed"), True)
    return FeedReading(items)


def parse(spider: WatchSpider, response: Response, run: SourceRun) -> list[Request]:
    if not spider.begin_main(response, run):
        return []
    content_type = (response.headers.get("Content-Type") or b"").decode("latin-1")
    reading = read_feed(run.source.id, response.body, content_type, response.url)
    if reading.fatal and reading.problem:
        run.fail(*reading.problem, response.status)
        return []
    if reading.problem:
        run.warn(*reading.problem)
    requests: list[Request] = []
    spider.look_up_known(run, reading.items)
    for item in reading.items:
        requests += spider.take(run, item)
    return requests
