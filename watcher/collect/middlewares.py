"""Downloader middlewares (host back-off after 429/403, retries that wait before retrying)
and the crawl's AutoThrottle."""

from __future__ import annotations

import logging
from typing import Any

from scrapy import Request
from scrapy.downloadermiddlewares.retry import RetryMiddleware
from scrapy.exceptions import IgnoreRequest
from scrapy.extensions.throttle import AutoThrottle
from scrapy.http import Response
from scrapy.settings import BaseSettings
from scrapy.utils.defer import deferred_to_future

from watcher.store import crawl_state as state
from watcher.urls import host_of

logger = logging.getLogger(__name__)


class HostBackoffMiddleware:
    """A host that answers 429 or 403 is left alone for ``host_backoff_hours``: the rest of
    this run and the following runs skip it (table ``host_backoff``)."""

    def __init__(self, crawler: Any) -> None:
        self.crawler = crawler

    @classmethod
    def from_crawler(cls, crawler: Any) -> HostBackoffMiddleware:
        return cls(crawler)

    def process_request(self, request: Request) -> None:
        spider = self.crawler.spider
        host = host_of(request.url)
        until = spider.backoff.get(host)
        if until is not None:
            raise IgnoreRequest(
                f"host_backoff: {host} is left alone until {until:%Y-%m-%d %H:%M} UTC"
            )

    def process_response(self, request: Request, response: Response) -> Response:
        if response.status in (429, 403) and not request.url.endswith("/robots.txt"):
            spider = self.crawler.spider
            host = host_of(request.url)
            until = state.back_off_host(
                spider.store,
                host,
                spider.collect.host_backoff_hours,
                f"HTTP {response.status} for {request.url}",
            )
            spider.backoff[host] = until
            logger.warning("%s answered %s: left alone until %s", host, response.status, until)
        return response


class BackoffRetryMiddleware(RetryMiddleware):
    """Scrapy's retry (5xx, timeouts), waiting ``retry_backoff_s`` × 2^(attempt-1) first."""

    def __init__(self, settings: BaseSettings) -> None:
        super().__init__(settings)
        self.backoff_s = settings.getfloat("WATCHER_RETRY_BACKOFF", 0.0)

    async def _pause(self, result: Any) -> Any:
        if isinstance(result, Request) and self.backoff_s > 0:
            attempt = int(result.meta.get("retry_times", 1))
            delay = self.backoff_s * 2 ** (attempt - 1)
            from twisted.internet import reactor, task  # the crawl's reactor, installed by then

            await deferred_to_future(task.deferLater(reactor, delay, lambda: None))
        return result

    async def process_response(self, request: Request, response: Response) -> Any:  # type: ignore[override]
        return await self._pause(super().process_response(request, response))

    async def process_exception(self, request: Request, exception: Exception) -> Any:  # type: ignore[override]
        return await self._pause(super().process_exception(request, exception))


class ConditionalAutoThrottle(AutoThrottle):
    """Scrapy's AutoThrottle, except that a 304 Not Modified counts like a 200.

    Scrapy never lets a non-200 answer lower a host's delay (error pages are fast and
    would feed back into ever shorter delays), so a host whose feeds all answer 304 kept
    the start delay for the whole run: unchanged feeds were spaced by
    ``autothrottle_start_delay_s`` (1 s by default) although the host answered quickly.
    A 304 is a complete answer that took the server the time it took; its latency says as
    much about the host's load as a 200's. ``download_delay_s`` stays the floor and
    ``concurrent_per_host`` the cap, and errors still never shorten the delay.
    """

    def _adjust_delay(self, slot: Any, latency: float, response: Response) -> None:
        if response.status == 304:
            response = response.replace(status=200)
        super()._adjust_delay(slot, latency, response)
