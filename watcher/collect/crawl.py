"""The crawl child process: ``python -m watcher.collect.crawl JOB.json``.

Twisted's reactor cannot be restarted, so every crawl runs in a fresh process
started by :func:`watcher.collect.run_collect`; the parent never imports
Scrapy's reactor and can start crawls again and again (the scheduler does).
The job file gives the database URL, the run id, the sources and the collect
settings; the child writes results to the store and progress events (JSON
lines) to stdout.
"""

from __future__ import annotations

import json
import logging
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from types import SimpleNamespace

    from watcher.settings import CollectSettings

# Not used by a watcher crawl: no feed export, job directory, console, cookies or cache.
UNUSED_EXTENSIONS = {
    "scrapy.extensions.feedexport.FeedExporter",
    "scrapy.extensions.spiderstate.SpiderState",
    "scrapy.extensions.memdebug.MemoryDebugger",
    "scrapy.extensions.telnet.TelnetConsole",
    "scrapy.extensions.remote_control.RemoteControl",
}
# Replaced by watcher.collect.middlewares.ConditionalAutoThrottle (304s count like 200s).
AUTOTHROTTLE = "scrapy.extensions.throttle.AutoThrottle"
ROBOTSTXT = "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware"
UNUSED_DOWNLOADER_MIDDLEWARES = {
    "scrapy.downloadermiddlewares.cookies.CookiesMiddleware",
    "scrapy.downloadermiddlewares.httpcache.HttpCacheMiddleware",
    # Replaced by watcher.collect.middlewares.BackoffRetryMiddleware.
    "scrapy.downloadermiddlewares.retry.RetryMiddleware",
    # Replaced by watcher.collect.robots.CachedRobotsTxtMiddleware (same place, 100).
    ROBOTSTXT,
}


MIN_DELAY_S = 0.001


def _without(base: dict[str, int], unused: set[str]) -> dict[str, int]:
    return {path: order for path, order in base.items() if path not in unused}


def scrapy_settings(
    collect: CollectSettings | SimpleNamespace,
    *,
    log_level: str = "WARNING",
    internal_origins: dict[str, str] | None = None,
) -> dict[str, Any]:
    """Scrapy's settings from ours: politeness, limits, retries, and what may be fetched
    (``internal_origins``: see :mod:`watcher.collect.guard`)."""
    from scrapy.settings import default_settings as defaults

    from watcher.collect.guard import ORIGINS_SETTING

    return {
        "BOT_NAME": "watcher",
        "USER_AGENT": collect.user_agent,
        "ROBOTSTXT_OBEY": collect.obey_robots_txt,
        "ROBOTSTXT_USER_AGENT": "watcher",
        "DOWNLOAD_TIMEOUT": collect.download_timeout_s,
        "DOWNLOAD_MAXSIZE": collect.max_response_bytes,
        "DOWNLOAD_WARNSIZE": 0,
        "CONCURRENT_REQUESTS": collect.concurrent_requests,
        "CONCURRENT_REQUESTS_PER_DOMAIN": collect.concurrent_per_host,
        # Scrapy 2.19 hands a host's whole queue to the downloader at once when its delay
        # is 0 (the per-host limit is checked before any of them counts as transferring):
        # a millisecond keeps CONCURRENT_REQUESTS_PER_DOMAIN true at no cost.
        "DOWNLOAD_DELAY": max(collect.download_delay_s, MIN_DELAY_S),
        "AUTOTHROTTLE_ENABLED": collect.autothrottle,
        "AUTOTHROTTLE_START_DELAY": collect.autothrottle_start_delay_s,
        "AUTOTHROTTLE_MAX_DELAY": collect.autothrottle_max_delay_s,
        "AUTOTHROTTLE_TARGET_CONCURRENCY": collect.autothrottle_target_concurrency,
        "RETRY_ENABLED": collect.retry_times > 0,
        "RETRY_TIMES": collect.retry_times,
        # 429 is not retried: the host is backed off instead (HostBackoffMiddleware).
        "RETRY_HTTP_CODES": [500, 502, 503, 504, 522, 524, 408],
        "WATCHER_RETRY_BACKOFF": collect.retry_backoff_s,
        "CLOSESPIDER_TIMEOUT": collect.crawl_time_limit_s,
        "COOKIES_ENABLED": False,
        # Callbacks return requests only (items are saved in the callback), so Scrapy's
        # parallel item processing has nothing to do; fewer workers, less overhead.
        "CONCURRENT_ITEMS": 4,
        # The next request goes to the host with the fewest downloads in progress, not
        # first-in first-out: otherwise requests queued behind a slow host's (waiting on
        # its per-host limit and delay) fill CONCURRENT_REQUESTS while other hosts idle.
        # Per-host concurrency and delays are unchanged (Scrapy's advice for broad crawls).
        "SCHEDULER_PRIORITY_QUEUE": "scrapy.pqueues.DownloaderAwarePriorityQueue",
        "TELNETCONSOLE_ENABLED": False,
        "REMOTE_CONTROL_ENABLED": False,  # no listening port in an unattended crawl
        "LOG_LEVEL": log_level,
        "DEFAULT_REQUEST_HEADERS": {
            "Accept": "application/rss+xml, application/atom+xml, application/xml;q=0.9, "
            "text/html;q=0.9, application/json;q=0.9, */*;q=0.8",
            "Accept-Language": "fr,en;q=0.8",
            "From": collect.contact_url,
        },
        # Scrapy imports every component of its *_BASE lists, even one a setting disables
        # (the remote control pulls in aiohttp, the cookie middleware tldextract, the
        # telnet console Twisted's conch): the lists below leave out what a watcher crawl
        # never uses, so it is not even imported. That was about a fifth of the child's
        # start-up, paid even by a run where every feed answers 304.
        "EXTENSIONS_BASE": {
            **_without(defaults.EXTENSIONS_BASE, UNUSED_EXTENSIONS | {AUTOTHROTTLE}),
            "watcher.collect.middlewares.ConditionalAutoThrottle": 0,
        },
        "DOWNLOADER_MIDDLEWARES_BASE": {
            **_without(defaults.DOWNLOADER_MIDDLEWARES_BASE, UNUSED_DOWNLOADER_MIDDLEWARES),
            # In the base list, so that no DOWNLOADER_MIDDLEWARES setting can leave it out:
            # first on the way to the downloader (before robots.txt is even asked for)...
            "watcher.collect.guard.UrlGuardMiddleware": 30,
            "watcher.collect.robots.CachedRobotsTxtMiddleware": (
                defaults.DOWNLOADER_MIDDLEWARES_BASE[ROBOTSTXT]
            ),
            # ...and first to see a download's error, so a refused name is not retried.
            "watcher.collect.guard.ResolvedAddressCheck": 950,
        },
        # Names resolve to public addresses only, checked as the connection is made.
        "TWISTED_DNS_RESOLVER": "watcher.collect.guard.GuardedResolver",
        ORIGINS_SETTING: dict(internal_origins or {}),
        "DOWNLOADER_MIDDLEWARES": {
            "watcher.collect.middlewares.HostBackoffMiddleware": 90,
            "watcher.collect.middlewares.BackoffRetryMiddleware": 550,
        },
        # Sources are http(s) URLs (config.py checks): no file, data, FTP or S3 handler,
        # neither loaded nor reachable through a redirect or a link in a page.
        "DOWNLOAD_HANDLERS_BASE": {
            scheme: path
            for scheme, path in defaults.DOWNLOAD_HANDLERS_BASE.items()
            if scheme in ("http", "https")
        },
    }


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    job = json.loads(Path(argv[0]).read_text(encoding="utf-8"))
    if job.get("parent_pid"):  # before the slow imports: the parent may be gone already
        from watcher.collect.process import die_with_parent

        die_with_parent(int(job["parent_pid"]))
    if job.get("mode") == "discover":
        from watcher.collect.discover import run_discovery

        return run_discovery(job)
    from scrapy.crawler import CrawlerProcess

    from watcher.collect.guard import internal_origins
    from watcher.collect.plain import plain_settings, plain_source
    from watcher.collect.spider import WatchSpider

    # Validated by the parent already: plain objects, no pydantic in the child.
    collect = plain_settings(job["settings"])
    sources = [plain_source(s) for s in job["sources"]]
    process = CrawlerProcess(
        scrapy_settings(
            collect,
            log_level=job.get("log_level", "INFO"),
            internal_origins=internal_origins(sources),
        )
    )
    process.crawl(
        WatchSpider, db=job["db"], run_id=job["run_id"], sources=sources, settings=collect
    )
    process.start()
    return 0


if __name__ == "__main__":
    code = main()
    # Everything is committed and closed by now; skip the interpreter's slow teardown of
    # Scrapy, Twisted and lxml (about a second on a busy machine, paid at every run).
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(code)
