"""rss / atom: feedparser on the response bytes (feedparser never opens a connection here)."""

from __future__ import annotations

import calendar
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


def parse(spider: WatchSpider, response: Response, run: SourceRun) -> list[Request]:
    if not spider.begin_main(response, run):
        return []
    import feedparser

    body = response.body
    if looks_like_html(body):
        run.fail("not_a_feed", f"{response.url} answered an HTML page, not a feed", response.status)
        return []
    headers = {"content-type": (response.headers.get("Content-Type") or b"").decode("latin-1")}
    parsed = feedparser.parse(body, response_headers=headers)
    items = entries_to_items(run.source.id, parsed)
    problem = parsed.get("bozo_exception")
    if problem is not None:
        name = type(problem).__name__
        if not items:
            kind = "charset" if name in _CHARSET_ERRORS else "malformed"
            run.fail(kind, f"not a readable feed: {name}: {problem}", response.status)
            return []
        if name in _CHARSET_ERRORS:
            run.warn("charset", f"{problem}; read as {parsed.get('encoding')}")
        else:
            run.warn(
                "malformed", f"malformed feed, {len(items)} entries recovered: {name}: {problem}"
            )
    elif not items and not parsed.get("feed"):
        run.fail("malformed", f"{response.url} is not an RSS or Atom feed", response.status)
        return []
    requests: list[Request] = []
    for item in items:
        requests += spider.take(run, item)
    return requests
