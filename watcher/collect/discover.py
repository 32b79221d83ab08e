"""``watcher sources add URL``: find a site's feeds and write a sources.yaml entry.

The page is fetched by a small Scrapy crawl in the child process (Scrapy stays
the one HTTP engine): ``<link rel="alternate">`` feeds of the page, then
common feed paths, each checked by feedparser.
"""

from __future__ import annotations

import functools
import json
import os
import re
import subprocess
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any
from urllib.parse import urljoin, urlsplit

import yaml

from watcher.exceptions import WatcherError
from watcher.settings import CollectSettings
from watcher.urls import url_problem


class DiscoveryError(WatcherError):
    """The page could not be read: ``kind`` is the collect stage's failure kind
    (``dns``, ``http_404``...; ``timeout``, ``crawl_failed``), ``detail`` the English
    text of the message, so the desk can say it in French instead."""

    def __init__(self, url: str, kind: str, detail: str) -> None:
        super().__init__(f"{url}: {detail}")
        self.url = url
        self.kind = kind
        self.detail = detail


COMMON_PATHS = (
    "/feed",
    "/feed/",
    "/rss",
    "/rss.xml",
    "/feed.xml",
    "/atom.xml",
    "/index.xml",
    "/?feed=rss2",
)
FEED_TYPES = (
    "application/rss+xml",
    "application/atom+xml",
    "application/feed+json",
    "application/xml",
    "text/xml",
)


def discover_feeds(
    url: str, settings: CollectSettings | None = None, timeout_s: float = 120
) -> dict[str, Any]:
    """``{"url", "title", "feeds": [{"url", "kind", "title", "entries"}]}`` for the page at ``url``."""
    settings = settings or CollectSettings()
    with tempfile.TemporaryDirectory(prefix="watcher-discover-") as tmp:
        job = Path(tmp) / "job.json"
        job.write_text(
            json.dumps(
                {
                    "mode": "discover",
                    "url": url,
                    "settings": settings.model_dump(mode="json"),
                    "parent_pid": os.getpid(),
                }
            ),
            encoding="utf-8",
        )
        try:
            done = subprocess.run(
                [sys.executable, "-m", "watcher.collect.crawl", str(job)],
                capture_output=True,
                text=True,
                timeout=timeout_s,
            )
        except subprocess.TimeoutExpired as exc:
            raise DiscoveryError(url, "timeout", f"no answer within {timeout_s:.0f} s") from exc
    for line in reversed(done.stdout.splitlines()):
        if line.startswith("{"):
            result = json.loads(line)
            if result.get("error"):
                kind = str(result["error"]).partition(": ")[0]
                raise DiscoveryError(url, kind, str(result["error"]))
            return result
    raise DiscoveryError(url, "crawl_failed", f"the discovery crawl failed: {done.stderr[-800:]}")


def yaml_entry(result: dict[str, Any]) -> str:
    """A sources.yaml entry, ready to paste (the best feed, or an html listing to complete)."""
    page = result["url"]
    host = urlsplit(page).hostname or "source"
    source_id = re.sub(r"[^a-z0-9]+", "-", host.lower().removeprefix("www.")).strip("-")[:60]
    name = (result.get("title") or host).strip()[:120]
    feeds = result.get("feeds") or []
    entry: dict[str, Any] = {
        "id": source_id,
        "name": name,
        "organisation": "",
        "kind": "html",
        "url": page,
    }
    best = max(feeds, key=lambda f: f.get("entries", 0)) if feeds else None
    if best is not None:
        entry.update(kind=best["kind"], url=best["url"])
    else:
        entry["html"] = {
            "item": "article",
            "link": "a::attr(href)",
            "title": "h2 ::text",
            "date": "time::attr(datetime)",
        }
    entry.update(scope="france", check_every="6h", fetch_article=True, enabled=True)
    text = yaml.safe_dump([entry], allow_unicode=True, sort_keys=False)
    lines = [f"  {line}" if line else line for line in text.splitlines()]
    others = [
        f"  # other feed found: {f['url']} ({f['kind']}, {f.get('entries', 0)} entries)"
        for f in feeds
        if f is not best
    ]
    if not feeds:
        others.insert(0, "  # no feed found: check the html selectors against the page")
    return "\n".join(others + lines) + "\n"


def _joined(join: Callable[[str], str], href: str) -> str | None:
    """``join(href)``, or None when no crawl can fetch the result: one link with an
    unclosed "[" or a port past 65535 raised ValueError and lost the page's feeds."""
    try:
        url = join(href)
    except ValueError:
        return None
    return None if url_problem(url) else url


def _feed_kind(parsed: Any) -> str:
    return "atom" if str(parsed.get("version", "")).startswith("atom") else "rss"


def run_discovery(job: dict[str, Any]) -> int:
    """Child side: crawl the page and candidate feeds, print one JSON result line."""
    import feedparser
    import scrapy
    from scrapy.crawler import CrawlerProcess

    from watcher.collect.crawl import scrapy_settings
    from watcher.collect.errors import classify_failure
    from watcher.collect.guard import internal_origin

    settings = CollectSettings.model_validate(job["settings"])
    url = job["url"]
    result: dict[str, Any] = {"url": url, "title": None, "feeds": []}
    seen: set[str] = set()

    def check(response: Any) -> None:
        parsed = feedparser.parse(response.body)
        is_feed = parsed.get("version") and (
            parsed.get("entries") or parsed.get("feed", {}).get("title")
        )
        if is_feed and response.url not in seen:
            seen.add(response.url)
            result["feeds"].append(
                {
                    "url": response.url,
                    "kind": _feed_kind(parsed),
                    "title": parsed.get("feed", {}).get("title"),
                    "entries": len(parsed.get("entries", [])),
                }
            )

    class DiscoverSpider(scrapy.Spider):
        name = "discover"

        async def start(self):  # noqa: ANN202
            yield scrapy.Request(url, callback=self.page, errback=self.failed, dont_filter=True)

        def failed(self, failure: Any) -> None:
            if failure.request.url == url:
                kind, message, _status = classify_failure(failure)
                result["error"] = f"{kind}: {message}"

        def page(self, response: Any) -> Any:
            if not hasattr(response, "css"):
                check(response)
                return
            result["title"] = (response.css("title::text").get() or "").strip() or None
            if b"<rss" in response.body[:2000] or b"<feed" in response.body[:2000]:
                check(response)
                return
            candidates = []
            for link in response.css("link[rel~=alternate]"):
                kind = (link.attrib.get("type") or "").lower()
                href = link.attrib.get("href")
                if href and kind in FEED_TYPES:
                    candidates.append(_joined(response.urljoin, href))
            from_root = functools.partial(urljoin, response.url)
            candidates += [_joined(from_root, path) for path in COMMON_PATHS]
            for candidate in dict.fromkeys(c for c in candidates if c):
                yield scrapy.Request(
                    candidate, callback=check, errback=lambda f: None, dont_filter=True
                )

    # The page asked for may be on this machine (the user typed it); what it links to
    # is checked like any crawl's links.
    origin = internal_origin(url)
    scrapy_conf = scrapy_settings(
        settings, internal_origins={"": f"{origin[0]}:{origin[1]}"} if origin else None
    )
    scrapy_conf.update(RETRY_TIMES=0, AUTOTHROTTLE_ENABLED=False, DOWNLOADER_MIDDLEWARES={})
    process = CrawlerProcess(scrapy_conf)
    process.crawl(DiscoverSpider)
    process.start()
    sys.stdout.write(json.dumps(result) + "\n")
    return 0
