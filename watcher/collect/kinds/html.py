"""html: a listing page read with the source's CSS selectors, page after page."""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

from scrapy import Request
from scrapy.http import Response, TextResponse

from watcher.collect.kinds.common import join_url, parse_date, plain_text
from watcher.models import CollectedItem

if TYPE_CHECKING:
    from watcher.collect.spider import SourceRun, WatchSpider


def start(spider: WatchSpider, run: SourceRun) -> list[Request]:
    return [_page_request(spider, run, run.source.url, 1)]


def _page_request(spider: WatchSpider, run: SourceRun, url: str, page: int) -> Request:
    return spider.request(
        run,
        url,
        lambda response, run: parse(spider, response, run),
        main=page == 1,
        conditional=page == 1,
        meta={"page": page},
        priority=10,
    )


def _value(node: Any, selector: str | None, attribute: str) -> str | None:
    """The first match of ``selector`` in ``node``: its text, or ``attribute`` for an element
    selector without ``::text`` / ``::attr()``."""
    if not selector:
        return None
    found = node.css(selector)
    if not found:
        return None
    first = found[0]
    if isinstance(first.root, str):
        return first.root
    value = first.attrib.get(attribute) if attribute else None
    if value:
        return value
    if attribute == "href":
        return first.css("a::attr(href)").get()
    return " ".join(t.strip() for t in first.css("::text").getall() if t.strip())


def parse_listing(response: TextResponse, source_id: str, selectors: Any) -> list[CollectedItem]:
    """The items of one listing page (a pure function: tests call it on saved pages)."""
    containers = response.css(selectors.item) if selectors.item else [response]
    items = []
    seen = set()
    for node in containers:
        links = [node] if selectors.item else []
        if not selectors.item:
            # Without a container, every link match is an item, titled by the link's text.
            element_selector = re.sub(r"::attr\(href\)\s*$", "", selectors.link)
            for link in node.css(element_selector):
                if isinstance(link.root, str):
                    href, title = link.root, ""
                else:
                    href = link.attrib.get("href") or link.css("a::attr(href)").get()
                    title = " ".join(link.css("::text").getall())
                if href and href not in seen:
                    seen.add(href)
                    items.append(
                        CollectedItem(
                            source_id=source_id,
                            url=join_url(response, href.strip()),
                            title=plain_text(title, 1000),
                        )
                    )
            continue
        for container in links:
            href = _value(container, selectors.link, "href")
            if not href or href.strip().startswith(("javascript:", "mailto:", "#")):
                continue
            url = join_url(response, href.strip())
            if url in seen:
                continue
            seen.add(url)
            date_text = _value(container, selectors.date, "datetime")
            title = _value(container, selectors.title, "") if selectors.title else None
            if title is None:
                link_node = container.css(selectors.link)
                title = " ".join(link_node.css("::text").getall()) if link_node else ""
            items.append(
                CollectedItem(
                    source_id=source_id,
                    url=url,
                    title=plain_text(title, 1000),
                    summary=plain_text(_value(container, selectors.summary, ""), 5000),
                    published=parse_date(date_text),
                )
            )
    return items


def _declares_charset(response: TextResponse) -> bool:
    content_type = (response.headers.get("Content-Type") or b"").lower()
    return b"charset" in content_type or b"charset" in response.body[:2048].lower()


def parse(spider: WatchSpider, response: Response, run: SourceRun) -> list[Request]:
    page = response.meta.get("page", 1)
    if page == 1 and not spider.begin_main(response, run):
        return []
    if not isinstance(response, TextResponse):
        if page == 1:
            run.fail("not_html", f"{response.url} is not an HTML page", response.status)
        return []
    if not _declares_charset(response):
        # Statistical detection mistakes French latin-1 for Central European code pages;
        # UTF-8 if the bytes decode, else windows-1252 (what browsers assume), is safer.
        try:
            response.body.decode("utf-8")
            encoding = "utf-8"
        except UnicodeDecodeError:
            encoding = "cp1252"
        response = response.replace(encoding=encoding)
        if page == 1:
            run.warn("charset", f"no charset declared; read as {encoding}")
    selectors = run.source.html
    items = parse_listing(response, run.source.id, selectors)
    if not items and page == 1:
        run.fail(
            "no_items",
            f"no item matched the selectors on {response.url}; has the page changed?",
            response.status,
        )
        return []
    requests: list[Request] = []
    spider.look_up_known(run, items)
    for item in items:
        requests += spider.take(run, item)
    if selectors.next_page and page < selectors.page_limit:
        next_href = _value(response, selectors.next_page, "href")
        next_url = join_url(response, next_href.strip()) if next_href else None
        if next_url and spider.admissible(run, next_url):
            requests.append(_page_request(spider, run, next_url, page + 1))
    return requests
