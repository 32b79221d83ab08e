"""sitemap: the URLs of a sitemap (or sitemap index) that match ``url_pattern`` and are new."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from scrapy import Request
from scrapy.http import Response
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap

from watcher.collect.kinds.common import parse_date
from watcher.models import CollectedItem
from watcher.store.items import known_urls
from watcher.urls import canonical_url

if TYPE_CHECKING:
    from watcher.collect.spider import SourceRun, WatchSpider

MAX_CHILD_SITEMAPS = 20


def start(spider: WatchSpider, run: SourceRun) -> list[Request]:
    return [_request(spider, run, run.source.url, main=True)]


def _request(spider: WatchSpider, run: SourceRun, url: str, *, main: bool) -> Request:
    return spider.request(
        run,
        url,
        lambda response, run: parse(spider, response, run),
        main=main,
        conditional=main,
        priority=10,
    )


def _title_from_url(url: str) -> str:
    slug = unquote(urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])
    slug = re.sub(r"\.(html?|php|aspx?)$", "", slug)
    return re.sub(r"[-_]+", " ", slug).strip().capitalize() or url


def parse(spider: WatchSpider, response: Response, run: SourceRun) -> list[Request]:
    main = response.meta.get("main")
    if main and not spider.begin_main(response, run):
        return []
    body = response.body
    if body[:2] == b"\x1f\x8b":
        body = gunzip(body, max_size=spider.collect.max_response_bytes)
    try:
        sitemap = Sitemap(body)
    except Exception as exc:  # lxml raises several kinds on garbage
        if main:
            run.fail("malformed", f"not a sitemap: {exc}", response.status)
        return []
    if sitemap.type == "sitemapindex":
        children = [entry["loc"] for entry in sitemap if entry.get("loc")][:MAX_CHILD_SITEMAPS]
        return [_request(spider, run, response.urljoin(loc), main=False) for loc in children]
    pattern = re.compile(run.source.sitemap.url_pattern if run.source.sitemap else ".*")
    entries = [e for e in sitemap if e.get("loc") and pattern.search(e["loc"])]
    if not entries and main:
        run.fail("no_items", f"no URL of {response.url} matches the pattern", response.status)
        return []
    canon = {e["loc"]: canonical_url(e["loc"]) for e in entries}
    known = known_urls(spider.store, canon.values())
    requests: list[Request] = []
    from watcher.collect.articles import article_request

    for entry in entries:
        if canon[entry["loc"]] in known or canon[entry["loc"]] in spider.requested:
            continue
        if not spider.admissible(run, entry["loc"]):
            continue
        item = CollectedItem(
            source_id=run.source.id,
            url=entry["loc"],
            title="" if run.source.fetch_article else _title_from_url(entry["loc"]),
            published=parse_date(entry.get("lastmod")),
        )
        run.found += 1
        if run.found > spider.collect.max_items_per_source:
            run.warn("truncated", "too many new URLs; the rest next run")
            break
        if run.source.fetch_article:
            # Stored once its page is read: a sitemap gives no title to show before that.
            spider.requested.add(canon[entry["loc"]])
            requests.append(article_request(spider, run, item, None))
        else:
            spider.save(run, item)
    return requests
