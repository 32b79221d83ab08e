"""sitemap: the URLs of a sitemap (or sitemap index) that match ``url_pattern`` and are new."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING
from urllib.parse import unquote, urlsplit

from scrapy import Request
from scrapy.http import Response
from scrapy.utils.gz import gunzip
from scrapy.utils.sitemap import Sitemap

from watcher.collect.kinds.common import join_url, parse_date
from watcher.models import CollectedItem
from watcher.store.items import known_urls
from watcher.urls import canonical_url

if TYPE_CHECKING:
    from watcher.collect.spider import SourceRun, WatchSpider

# Sitemaps a source may fetch in one run besides its own URL, whatever the depth: an index
# may list itself, another index or endless distinct URLs, and each fetch asks for more.
MAX_CHILD_SITEMAPS = 20


def start(spider: WatchSpider, run: SourceRun) -> list[Request]:
    run.visited.add(canonical_url(run.source.url))
    return [_request(spider, run, run.source.url, main=True)]


def _children(
    spider: WatchSpider, run: SourceRun, response: Response, locs: list[str]
) -> list[Request]:
    """Requests for the sitemaps an index lists, each at most once per run and no more
    than MAX_CHILD_SITEMAPS in all (an index listing itself asked for itself forever).
    A child the guard refuses (not http(s), internal, unparsable) is left out alone: one
    such ``<loc>`` failed the whole source."""
    requests = []
    for loc in locs:
        url = join_url(response, loc.strip())
        if not spider.admissible(run, url):
            continue
        canon = canonical_url(url)
        if canon in run.visited:
            continue
        if len(run.visited) > MAX_CHILD_SITEMAPS:
            run.warn("truncated", f"more than {MAX_CHILD_SITEMAPS} sitemaps; the rest left out")
            break
        run.visited.add(canon)
        requests.append(_request(spider, run, url, main=False))
    return requests


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
        limit = spider.collect.max_response_bytes
        try:
            body = gunzip(body, max_size=limit)
        except ValueError:  # scrapy's _DecompressionMaxSizeExceeded: a gzip bomb
            if main:
                message = f"{response.url} is over {limit} bytes once decompressed"
                run.fail("too_large", message, response.status)
            return []
        except Exception as exc:  # OSError, EOFError, zlib.error, struct.error
            if main:
                run.fail("malformed", f"not a sitemap: broken gzip data: {exc}", response.status)
            return []
    try:
        sitemap = Sitemap(body)
    except Exception as exc:  # lxml raises several kinds on garbage
        if main:
            run.fail("malformed", f"not a sitemap: {exc}", response.status)
        return []
    if sitemap.type == "sitemapindex":
        return _children(spider, run, response, [e["loc"] for e in sitemap if e.get("loc")])
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
