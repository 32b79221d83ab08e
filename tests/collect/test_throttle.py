"""The crawl's AutoThrottle: a 304 lowers a host's delay like a 200, errors never do."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from scrapy.http import Response
from scrapy.utils.test import get_crawler

from watcher.collect.crawl import scrapy_settings
from watcher.collect.middlewares import ConditionalAutoThrottle
from watcher.settings import CollectSettings


@pytest.fixture
def throttle() -> ConditionalAutoThrottle:
    crawler = get_crawler(settings_dict=scrapy_settings(CollectSettings()))
    extension = ConditionalAutoThrottle(crawler)
    extension.mindelay, extension.maxdelay = 0.25, 30.0
    return extension


@pytest.mark.parametrize(("status", "lowered"), [(200, True), (304, True), (500, False)])
def test_delay_after_a_quick_answer(
    throttle: ConditionalAutoThrottle, status: int, lowered: bool
) -> None:
    slot = SimpleNamespace(delay=1.0)
    throttle._adjust_delay(slot, 0.1, Response("https://example.org/feed.xml", status=status))
    assert (slot.delay < 1.0) is lowered
    assert slot.delay >= 0.25  # download_delay_s stays the floor


def test_a_slow_304_raises_the_delay(throttle: ConditionalAutoThrottle) -> None:
    slot = SimpleNamespace(delay=1.0)
    throttle._adjust_delay(slot, 4.0, Response("https://example.org/feed.xml", status=304))
    assert slot.delay == 4.0


def test_the_crawl_uses_it_and_skips_unused_components() -> None:
    settings = scrapy_settings(CollectSettings())
    extensions = settings["EXTENSIONS_BASE"]
    assert "watcher.collect.middlewares.ConditionalAutoThrottle" in extensions
    assert "scrapy.extensions.throttle.AutoThrottle" not in extensions
    assert "scrapy.extensions.remote_control.RemoteControl" not in extensions
    assert set(settings["DOWNLOAD_HANDLERS_BASE"]) == {"http", "https"}
    assert (
        "watcher.collect.robots.CachedRobotsTxtMiddleware"
        in (settings["DOWNLOADER_MIDDLEWARES_BASE"])
    )


def test_the_per_host_limit_holds_without_any_delay(web, store) -> None:  # noqa: ANN001
    """Scrapy 2.19 let a host's whole queue through at once when its delay was 0."""
    import threading
    import time

    from tests.collect.conftest import Reply, article, fast_settings, rss, sources_from
    from watcher.collect import run_collect

    lock, busy, most = threading.Lock(), [0], [0]

    def slow(i: int):  # noqa: ANN202
        def reply(_handler) -> Reply:  # noqa: ANN001
            with lock:
                busy[0] += 1
                most[0] = max(most[0], busy[0])
            time.sleep(0.3)
            with lock:
                busy[0] -= 1
            return Reply(article(f"Texte {i}", 90 + i))

        return reply

    entries = [(web.url(f"/s/{i}"), f"Texte {i}", "r") for i in range(4)]
    web.routes["/feed.xml"] = Reply(rss(entries), content_type="application/rss+xml")
    for i in range(4):
        web.routes[f"/s/{i}"] = slow(i)
    sources = sources_from(
        f"sources:\n  - {{id: s, name: S, kind: rss, url: '{web.url('/feed.xml')}'}}\n"
    )
    settings = fast_settings(download_delay_s=0, autothrottle=False, concurrent_per_host=1)
    report = run_collect(sources, db=store, settings=settings)
    assert report.sources[0].items_new == 4
    assert most[0] == 1
