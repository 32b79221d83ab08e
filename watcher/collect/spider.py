"""The one spider of a crawl: every source, whatever its kind, in one Scrapy crawl.

One spider (rather than one per kind) so that per-host concurrency, AutoThrottle
and robots.txt apply across all sources that share a host. The kind-specific
work is done by the handlers of :data:`watcher.collect.kinds.REGISTRY`.

Accounting: each request carries its source; a source is finished when its
last request is answered (callbacks return lists, never lazy generators, so
every item a callback saves is stored before the count drops). Items are saved
in the callback, one short transaction each, and the HTTP validators of a
source's main URL are saved only when the source finishes well: a crash at
any point loses no item and the next run picks up what is missing.
"""

from __future__ import annotations

import contextlib
import json
import logging
import sys
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime
from typing import TYPE_CHECKING, Any

import scrapy
from scrapy import Request
from scrapy.http import Response

from watcher.base.clock import utcnow
from watcher.collect.errors import classify_failure
from watcher.collect.normalize import normalize_item
from watcher.models import CollectedItem, SourceReport
from watcher.store import Store
from watcher.store import crawl_state as state
from watcher.store.items import (
    is_complete,
    known_urls,
    mark_fetch_failed,
    pending_items,
    save_item,
)
from watcher.urls import canonical_url, host_of

if TYPE_CHECKING:
    # In the crawl child these are plain objects with the same attributes
    # (watcher.collect.plain): pydantic is not imported there.
    from watcher.config import Source
    from watcher.settings import CollectSettings

logger = logging.getLogger(__name__)

# Requests the guard refused (watcher.collect.guard): reported even for an article.
REFUSED_KINDS = ("not_http", "internal_address")

Handler = Callable[[Response, "SourceRun"], list[Request] | None]
ErrorHandler = Callable[[Request, "SourceRun", str, str], list[Request] | None]


@dataclass
class SourceRun:
    """How one source is faring in this run."""

    source: Source
    started_at: datetime = field(default_factory=utcnow)
    t0: float = field(default_factory=time.monotonic)
    outstanding: int = 0
    status: str = "ok"
    http_status: int | None = None
    error_kind: str | None = None
    error_message: str | None = None
    found: int = 0
    new: int = 0
    validators: dict[str, Any] | None = None
    done: bool = False
    token: str | None = None  # an API's bearer token (token exchange)
    token_retried: bool = False
    refused: int = 0  # links the guard refused (watcher.collect.guard)
    first_refusal: str = ""
    visited: set[str] = field(default_factory=set)  # canonical URLs of a kind's listings
    # Canonical URLs whose being stored was looked up in one query for a long listing
    # (see WatchSpider.look_up_known), and those of them found, or saved since.
    looked_up: set[str] = field(default_factory=set)
    known: set[str] = field(default_factory=set)

    def fail(self, kind: str, message: str, http_status: int | None = None) -> None:
        if self.status != "failed":
            self.status, self.error_kind, self.error_message = "failed", kind, message
            self.validators = None
        if http_status is not None:
            self.http_status = http_status

    def warn(self, kind: str, message: str) -> None:
        """A problem worked around: recorded, but the source still counts as ok."""
        if self.error_kind is None:
            self.error_kind, self.error_message = kind, message

    def refuse(self, kind: str, message: str) -> None:
        """A link the guard refused: reported (with how many) rather than a lesser
        warning, never over a failure; the source still counts as ok."""
        self.refused += 1
        if self.status == "failed":
            return
        if self.error_kind not in REFUSED_KINDS:
            self.error_kind, self.first_refusal = kind, message
        self.error_message = (
            self.first_refusal
            if self.refused == 1
            else f"{self.refused} links refused, the first: {self.first_refusal}"
        )

    def report(self) -> SourceReport:
        return SourceReport(
            source_id=self.source.id,
            status=self.status,  # type: ignore[arg-type]
            http_status=self.http_status,
            error_kind=self.error_kind,
            error_message=self.error_message,
            duration_s=time.monotonic() - self.t0,
            items_found=self.found,
            items_new=self.new,
        )


def emit(event: dict[str, Any]) -> None:
    """A progress event for the parent process, one JSON object a line on stdout."""
    sys.stdout.write(json.dumps(event) + "\n")
    sys.stdout.flush()


class WatchSpider(scrapy.Spider):
    name = "watcher"

    def __init__(
        self,
        *,
        db: str,
        run_id: int,
        sources: list[Source],
        settings: CollectSettings,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        self.store = Store(db, migrate=False)
        self.run_id = run_id
        self.sources = sources
        self.collect = settings
        self.runs: dict[str, SourceRun] = {}
        self.requested: set[str] = set()  # canonical URLs of the articles asked for in this crawl
        self.backoff = state.backed_off_hosts(self.store)
        # Loaded once: a run where every feed answers 304 then costs no query per source.
        self.validators = state.validators_for(self.store, [s.url for s in sources])
        self.pending: dict[str, list[dict[str, Any]]] = {}
        for pending in pending_items(self.store):
            self.pending.setdefault(pending["source_id"], []).append(pending)

    # --- start and finish --------------------------------------------------------------

    async def start(self) -> AsyncIterator[Request]:
        from watcher.collect.guard import UrlGuard
        from watcher.collect.kinds import REGISTRY

        self.guard = UrlGuard.from_settings(self.settings)
        emit({"event": "start", "total": len(self.sources)})
        for source in self.sources:
            run = SourceRun(source)
            self.runs[source.id] = run
            requests: list[Request] = []
            host = host_of(source.url)
            if host in self.backoff:
                run.status, run.error_kind = "skipped", "host_backoff"
                run.error_message = (
                    f"{host} is left alone until {self.backoff[host]:%Y-%m-%d %H:%M} UTC"
                )
            else:
                try:
                    requests = list(REGISTRY[source.kind].start(self, run))
                    requests += self.pending_requests(run)
                except Exception as exc:  # one broken source never stops the others
                    logger.exception("source %s: cannot start", source.id)
                    run.fail("error", f"{type(exc).__name__}: {exc}")
            for request in requests:
                yield request
            self.maybe_finish(run)

    def maybe_finish(self, run: SourceRun) -> None:
        if run.outstanding <= 0 and not run.done:
            self.finish(run)

    def finish(self, run: SourceRun, *, interrupted: bool = False) -> None:
        run.done = True
        if interrupted and run.status != "failed":
            run.fail("interrupted", "the crawl stopped before this source finished")
        if run.status == "ok" and run.validators:
            state.save_validators(self.store, **run.validators)
        report = run.report()
        state.record_source_run(self.store, self.run_id, report, run.started_at)
        emit(
            {
                "event": "source",
                "source": run.source.id,
                "status": report.status,
                "error_kind": report.error_kind,
                "found": report.items_found,
                "new": report.items_new,
            }
        )

    def closed(self, reason: str) -> None:
        interrupted = reason != "finished"
        for run in self.runs.values():
            if not run.done:
                self.finish(run, interrupted=True)
        state.finish_run(self.store, self.run_id, "interrupted" if interrupted else "done")
        emit({"event": "closed", "reason": reason})
        self.store.close()

    # --- requests and their outcome --------------------------------------------------------

    def request(
        self,
        run: SourceRun,
        url: str,
        handler: Handler,
        *,
        main: bool = False,
        on_error: ErrorHandler | None = None,
        method: str = "GET",
        headers: dict[str, str] | None = None,
        body: bytes | str | None = None,
        meta: dict[str, Any] | None = None,
        conditional: bool = False,
        maxsize: int | None = None,
        priority: int = 0,
    ) -> Request:
        """A request of ``run``'s source; ``main`` ones decide the source's status."""
        headers = dict(headers or {})
        request_meta: dict[str, Any] = {
            "source_id": run.source.id,
            "main": main,
            "_handler": handler,
            "_on_error": on_error,
            **(meta or {}),
        }
        if main:
            request_meta["handle_httpstatus_list"] = [304]
        if conditional:
            validators = self.validators.get(url)
            if validators is None:
                validators = state.get_validators(self.store, url)
            if "etag" in validators:
                headers["If-None-Match"] = validators["etag"]
            if "last_modified" in validators:
                headers["If-Modified-Since"] = validators["last_modified"]
        if maxsize:
            request_meta["download_maxsize"] = maxsize
        request = Request(
            url,
            method=method,
            headers=headers,
            body=body,
            callback=self._on_response,
            errback=self._on_failure,
            meta=request_meta,
            dont_filter=True,
            priority=priority,
        )
        # Counted once made: Request() raises ValueError on a URL it cannot parse (an
        # unclosed "["), and a request counted but never sent left its source unfinished.
        run.outstanding += 1
        return request

    def _on_response(self, response: Response) -> list[Request]:
        run = self.runs[response.meta["source_id"]]
        handler: Handler = response.meta["_handler"]
        requests: list[Request] = []
        try:
            requests = list(handler(response, run) or [])
        except Exception as exc:
            logger.exception("source %s: cannot handle %s", run.source.id, response.url)
            if response.meta.get("main"):
                run.fail("error", f"{type(exc).__name__}: {exc}", response.status)
        finally:
            run.outstanding -= 1
        self.maybe_finish(run)
        return requests

    def _on_failure(self, failure: Any) -> list[Request]:
        request: Request = failure.request
        run = self.runs[request.meta["source_id"]]
        kind, message, status = classify_failure(failure)
        requests: list[Request] = []
        try:
            if request.meta.get("main"):
                run.fail(kind, message, status)
            elif kind in REFUSED_KINDS:
                run.refuse(kind, message)  # an article link to refuse: the source carries on
            on_error: ErrorHandler | None = request.meta.get("_on_error")
            if on_error is not None:
                requests = list(on_error(request, run, kind, message) or [])
        except Exception:
            logger.exception("source %s: error handler failed", run.source.id)
        finally:
            run.outstanding -= 1
        self.maybe_finish(run)
        return requests

    def begin_main(self, response: Response, run: SourceRun) -> bool:
        """Common checks of a source's main response; False when there is nothing to parse."""
        run.http_status = response.status
        if response.status == 304:
            run.status = "not_modified"
            return False
        if not response.body.strip():
            run.fail("empty", f"empty response from {response.url}", response.status)
            return False
        etag = response.headers.get("ETag")
        last_modified = response.headers.get("Last-Modified")
        if etag or last_modified:
            run.validators = {
                "url": response.request.url if response.request else response.url,
                "etag": etag.decode("latin-1") if etag else None,
                "last_modified": last_modified.decode("latin-1") if last_modified else None,
                "status": response.status,
            }
        return True

    # --- items and articles ----------------------------------------------------------------

    def admissible(self, run: SourceRun, url: str) -> bool:
        """Whether a listing's link may become an item (an http(s) URL, not an internal
        address); a refused one is reported on the source, which carries on."""
        refused = self.guard.refusal(url, run.source.id)
        if refused is not None:
            logger.warning("source %s: entry left out: %s", run.source.id, refused[1])
            run.refuse(*refused)
        return refused is None

    def look_up_known(self, run: SourceRun, items: list[CollectedItem]) -> None:
        """Before taking a listing longer than the cap, look up which of its URLs are
        stored in one batched query: past the cap every entry is checked, and one query
        each made a 50,000-entry feed cost 45 s a run."""
        if run.new + len(items) <= self.collect.max_items_per_source:
            return
        urls = set()
        for item in items:
            with contextlib.suppress(ValueError):
                urls.add(canonical_url(item.url))
        run.known |= set(known_urls(self.store, urls))
        run.looked_up |= urls

    def _stored(self, run: SourceRun, canon: str) -> bool:
        if canon in run.looked_up or canon in run.known:
            return canon in run.known
        return bool(known_urls(self.store, [canon]))

    def take(
        self, run: SourceRun, item: CollectedItem, *, fetch: bool | None = None
    ) -> list[Request]:
        """Record one entry of a listing; return the request for its article when needed."""
        from watcher.collect.articles import article_request

        if not self.admissible(run, item.url):
            return []
        # Now rather than only at save: the article request carries this item, and
        # its page's own date must be able to replace a date dropped as absurd.
        item = normalize_item(item)
        run.found += 1
        canon = canonical_url(item.url)
        if run.new >= self.collect.max_items_per_source and not self._stored(run, canon):
            # A first look at a big archive takes it in slices, one per run.
            run.warn(
                "truncated",
                f"more than {self.collect.max_items_per_source} new entries; the rest next run",
            )
            return []
        fetch = run.source.fetch_article if fetch is None else fetch
        run.known.add(canon)  # saved below: an entry repeated later in the list is known
        if not fetch:
            item.complete = True
            self.save(run, item)
            return []
        item.complete = False
        item_id, is_new = self.save_new(run, item)
        if canon in self.requested or (not is_new and is_complete(self.store, item_id)):
            return []
        self.requested.add(canon)
        return [article_request(self, run, item, item_id)]

    def save(self, run: SourceRun, item: CollectedItem) -> int:
        return self.save_new(run, item)[0]

    def save_new(self, run: SourceRun, item: CollectedItem) -> tuple[int, bool]:
        """Save one item (its own transaction) and count it when new."""
        item_id, is_new = save_item(
            self.store, normalize_item(item), threshold=self.collect.near_duplicate_threshold
        )
        if is_new:
            run.new += 1
        return item_id, is_new

    def pending_requests(self, run: SourceRun) -> list[Request]:
        """Articles of earlier runs still to fetch (a crash, an error, a 304 feed)."""
        from watcher.collect.articles import article_request

        if not run.source.fetch_article:
            return []
        requests = []
        for pending in self.pending.get(run.source.id, []):
            canon = canonical_url(pending["url"])
            if canon in self.requested:
                continue
            self.requested.add(canon)
            item = CollectedItem(
                source_id=run.source.id,
                url=pending["url"],
                title=pending["title"],
                summary=pending["summary"],
                extra={k: v for k, v in pending["extra"].items() if k not in ("fetch_error",)},
                complete=False,
            )
            requests.append(article_request(self, run, item, pending["id"]))
        return requests

    def article_failed(self, item_id: int | None, kind: str, message: str) -> None:
        if item_id is None or kind == "host_backoff":
            return
        mark_fetch_failed(
            self.store,
            item_id,
            f"{kind}: {message}",
            max_attempts=self.collect.article_max_attempts,
        )
