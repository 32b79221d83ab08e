"""Article pages (and PDFs) of new items: fetched once, extracted, stored complete."""

from __future__ import annotations

from typing import TYPE_CHECKING

from scrapy import Request
from scrapy.http import Response

from watcher.extract import extract, is_pdf
from watcher.models import CollectedItem

if TYPE_CHECKING:
    from watcher.collect.spider import SourceRun, WatchSpider


def article_request(
    spider: WatchSpider, run: SourceRun, item: CollectedItem, item_id: int | None
) -> Request:
    maxsize = spider.collect.max_pdf_bytes if is_pdf(None, item.url) else None
    return spider.request(
        run,
        item.url,
        lambda response, run: _on_article(spider, response, run),
        on_error=lambda request, run, kind, message: spider.article_failed(
            request.meta.get("item_id"), kind, message
        ),
        meta={"item": item, "item_id": item_id},
        maxsize=maxsize,
        priority=-1,  # listings first, so every source's entries are stored early
    )


def _on_article(spider: WatchSpider, response: Response, run: SourceRun) -> list[Request]:
    item: CollectedItem = response.meta["item"]
    content_type = (response.headers.get("Content-Type") or b"").decode("latin-1") or None
    extracted = extract(
        response.body,
        url=response.url,
        content_type=content_type,
        max_pdf_bytes=spider.collect.max_pdf_bytes,
    )
    extra = {k: v for k, v in item.extra.items() if k not in ("fetch_attempts", "fetch_error")}
    if response.url != item.url:
        extra["final_url"] = response.url
    if extracted.error:
        extra["extract_error"] = extracted.error
    pdf = is_pdf(content_type, response.url, response.body[:8])
    if pdf:
        extra["pdf"] = True
    keep_raw = spider.collect.keep_raw_bodies and len(response.body) <= 2 * 1024 * 1024
    complete = CollectedItem(
        source_id=item.source_id,
        url=item.url,
        title=item.title or extracted.title or item.url,
        summary=item.summary,
        text=extracted.text or item.text or item.summary,
        language=extracted.language or item.language,
        published=item.published or extracted.published,
        extra=extra,
        raw_body=response.body if keep_raw else None,
        content_type=content_type,
        complete=True,
    )
    spider.save(run, complete)
    return []
