"""robots.txt: kept for 24 hours in the store, 4xx allows all, 5xx disallows all (one run)."""

from __future__ import annotations

from datetime import timedelta

from tests.collect.conftest import Reply, fast_settings, sources_from
from tests.collect.test_crawl import by_source, feed_source, serve_feed
from watcher.base.clock import utcnow
from watcher.collect import run_collect
from watcher.collect.crawl import scrapy_settings
from watcher.settings import CollectSettings
from watcher.store import crawl_state as state

DISALLOW_PRIVATE = b"User-agent: *\nDisallow: /private/\n"


def two_feeds(web):  # noqa: ANN001, ANN201
    serve_feed(web, "/feed.xml", 1)
    serve_feed(web, "/private/feed.xml", 1, prefix="/p")
    return sources_from(
        "sources:\n"
        + feed_source("open", web.url("/feed.xml"))
        + feed_source("closed", web.url("/private/feed.xml"))
    )


def test_the_crawl_uses_the_cached_middleware_in_scrapys_place() -> None:
    middlewares = scrapy_settings(CollectSettings())["DOWNLOADER_MIDDLEWARES_BASE"]
    assert "scrapy.downloadermiddlewares.robotstxt.RobotsTxtMiddleware" not in middlewares
    assert middlewares["watcher.collect.robots.CachedRobotsTxtMiddleware"] == 100


def test_a_second_run_within_a_day_does_not_ask_again(web, store) -> None:  # noqa: ANN001
    sources = two_feeds(web)
    run_collect(sources, db=store, settings=fast_settings())
    assert len(web.requests_to("/robots.txt")) == 1
    assert state.fresh_robots(store, timedelta(hours=24))[web.base] == (
        200,
        b"User-agent: *\nAllow: /\n",
    )
    report = by_source(run_collect(sources, db=store, settings=fast_settings()))
    assert len(web.requests_to("/robots.txt")) == 1
    assert {r.status for r in report.values()} == {"not_modified"}
    assert len(web.requests_to("/feed.xml")) == 2  # the crawl itself went on


def test_a_robots_txt_older_than_a_day_is_fetched_again(web, store) -> None:  # noqa: ANN001
    sources = two_feeds(web)
    run_collect(sources, db=store, settings=fast_settings())
    old = utcnow() - timedelta(hours=24, minutes=1)
    state.save_robots(store, web.base, 200, b"User-agent: *\nAllow: /\n", fetched_at=old)
    web.routes["/robots.txt"] = Reply(DISALLOW_PRIVATE, content_type="text/plain")
    report = by_source(run_collect(sources, db=store, settings=fast_settings()))
    assert len(web.requests_to("/robots.txt")) == 2
    assert (report["closed"].status, report["closed"].error_kind) == ("failed", "robots")
    assert report["open"].status == "not_modified"


def test_a_cached_disallow_is_still_honoured(web, store) -> None:  # noqa: ANN001
    web.routes["/robots.txt"] = Reply(DISALLOW_PRIVATE, content_type="text/plain")
    sources = two_feeds(web)
    first = by_source(run_collect(sources, db=store, settings=fast_settings()))
    assert first["closed"].error_kind == "robots"
    # The site now allows everything, but the cached copy is less than a day old.
    web.routes["/robots.txt"] = Reply(b"User-agent: *\nAllow: /\n", content_type="text/plain")
    second = by_source(run_collect(sources, db=store, settings=fast_settings()))
    assert len(web.requests_to("/robots.txt")) == 1
    assert (second["closed"].status, second["closed"].error_kind) == ("failed", "robots")
    assert second["open"].status == "not_modified"
    assert web.requests_to("/private/feed.xml") == []


def test_a_4xx_robots_txt_allows_all_and_is_kept(web, store) -> None:  # noqa: ANN001
    # An error page that, read as robots.txt rules, would forbid the feed.
    web.routes["/robots.txt"] = Reply(DISALLOW_PRIVATE, status=404, content_type="text/plain")
    sources = two_feeds(web)
    report = by_source(run_collect(sources, db=store, settings=fast_settings()))
    assert report["closed"].status == "ok" and report["open"].status == "ok"
    assert state.fresh_robots(store, timedelta(hours=24))[web.base] == (404, b"")
    run_collect(sources, db=store, settings=fast_settings())
    assert len(web.requests_to("/robots.txt")) == 1


def test_a_5xx_robots_txt_disallows_all_for_this_run_only(web, store) -> None:  # noqa: ANN001
    web.routes["/robots.txt"] = Reply(b"Erreur", status=503, content_type="text/plain")
    sources = two_feeds(web)
    report = by_source(run_collect(sources, db=store, settings=fast_settings(retry_times=0)))
    assert {r.error_kind for r in report.values()} == {"robots"}
    assert web.requests_to("/feed.xml") == []
    assert web.base not in state.fresh_robots(store, timedelta(hours=24))
    web.routes["/robots.txt"] = Reply(b"User-agent: *\nAllow: /\n", content_type="text/plain")
    report = by_source(run_collect(sources, db=store, settings=fast_settings(retry_times=0)))
    assert len(web.requests_to("/robots.txt")) == 2
    assert report["open"].status == "ok" and report["closed"].status == "ok"


def test_only_the_first_500_kib_of_a_robots_txt_are_read(web, store) -> None:  # noqa: ANN001
    # RFC 9309 §2.5: a parsing limit of at least 500 KiB. A 4 MB file took seconds to
    # parse and slowed every check of its host; the rules past the limit are ignored,
    # and a line cut by the limit is dropped whole (half of "/private/" is "/p").
    filler = b"".join(b"Disallow: /archive/%06d/\n" % n for n in range(30_000))  # ~770 KB
    assert len(filler) > 500 * 1024
    web.routes["/robots.txt"] = Reply(
        b"User-agent: *\nDisallow: /private/\n" + filler + b"Disallow: /feed.xml\n",
        content_type="text/plain",
    )
    report = by_source(run_collect(two_feeds(web), db=store, settings=fast_settings()))
    assert (report["closed"].status, report["closed"].error_kind) == ("failed", "robots")
    assert (report["open"].status, report["open"].items_new) == ("ok", 1)
    (status, kept) = state.fresh_robots(store, timedelta(hours=24))[web.base]
    assert status == 200 and len(kept) <= 500 * 1024 and kept.endswith(b"/\n")
