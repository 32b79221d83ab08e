"""A crawl killed in the middle leaves the store consistent; the next run completes it."""

from __future__ import annotations

import os
import signal
import threading
import time

from sqlalchemy import func, select

from tests.collect.conftest import Reply, article, fast_settings, rss, sources_from
from watcher.collect import run_collect
from watcher.store.items import iter_items
from watcher.store.schema import crawl_runs, http_cache, item_sources, items


def test_killed_crawl_is_completed_by_the_next_run_without_duplicates(web, store) -> None:  # noqa: ANN001
    count = 6
    stall = threading.Event()
    entries = [(web.url(f"/k/{i}"), f"Texte {i}", f"Résumé {i}") for i in range(count)]
    web.routes["/feed.xml"] = Reply(rss(entries), content_type="application/rss+xml", etag=True)

    def slow_article(i: int):  # noqa: ANN202
        def reply(_handler) -> Reply:  # noqa: ANN001
            if stall.is_set() and i < 2:  # articles are fetched last-listed first
                time.sleep(20)  # the crawl is killed while waiting for these
            return Reply(article(f"Texte {i}", 40 + i))

        return reply

    for i in range(count):
        web.routes[f"/k/{i}"] = slow_article(i)
    sources = sources_from(
        f"sources:\n  - id: k\n    name: K\n    kind: rss\n    url: {web.url('/feed.xml')}\n"
    )
    settings = fast_settings(download_timeout_s=30, concurrent_per_host=1, concurrent_requests=1)

    def killer() -> None:
        # Kill the crawl process (no clean shutdown) once the feed's entries are stored
        # and a few articles read, while the others stall.
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with store.connect() as c:
                stored = c.execute(select(func.count()).select_from(items)).scalar()
                completed = c.execute(
                    select(func.count()).where(items.c.complete.is_(True))
                ).scalar()
                pid = c.execute(select(crawl_runs.c.pid).order_by(crawl_runs.c.id.desc())).scalar()
            if stored == count and completed >= 2 and pid:
                time.sleep(0.3)
                os.kill(pid, signal.SIGKILL)
                return
            time.sleep(0.05)

    stall.set()
    thread = threading.Thread(target=killer)
    thread.start()
    first = run_collect(sources, db=store, settings=settings)
    thread.join()
    assert first.status == "interrupted"
    assert first.sources[0].error_kind == "interrupted"
    with store.connect() as c:
        assert c.execute(select(func.count()).select_from(http_cache)).scalar() == 0  # no ETag yet
    assert 0 < sum(i.complete for i in iter_items(store)) < count

    stall.clear()
    second = run_collect(sources, db=store, settings=fast_settings())
    assert second.status == "done" and second.sources[0].status == "ok"
    stored = list(iter_items(store))
    assert len(stored) == count and all(i.complete for i in stored)
    with store.connect() as c:
        assert c.execute(select(func.count()).select_from(item_sources)).scalar() == count
        assert c.execute(select(func.count()).select_from(http_cache)).scalar() == 1

    third = run_collect(sources, db=store, settings=fast_settings())
    assert third.sources[0].status == "not_modified"
    assert len(list(iter_items(store))) == count


def test_incomplete_items_are_completed_even_when_the_feed_answers_304(web, store) -> None:  # noqa: ANN001
    entries = [(web.url("/p/1"), "Texte", "Résumé")]
    web.routes["/feed.xml"] = Reply(rss(entries), content_type="application/rss+xml", etag=True)
    web.routes["/p/1"] = Reply(b"busy", status=503, content_type="text/plain")
    sources = sources_from(
        f"sources:\n  - id: p\n    name: P\n    kind: rss\n    url: {web.url('/feed.xml')}\n"
    )
    first = run_collect(sources, db=store, settings=fast_settings())
    assert first.sources[0].status == "ok"
    (provisional,) = list(iter_items(store))
    assert not provisional.complete and provisional.extra["fetch_attempts"] == 1
    web.routes["/p/1"] = Reply(article("Texte complet", 50))
    second = run_collect(sources, db=store, settings=fast_settings())
    assert second.sources[0].status == "not_modified"
    (done,) = list(iter_items(store))
    assert done.complete and done.id == provisional.id and len(done.text) > 500
    assert "fetch_attempts" not in done.extra


def test_a_time_limit_stops_the_crawl_and_marks_the_run_interrupted(web, store) -> None:  # noqa: ANN001
    entries = [(web.url(f"/t/{i}"), f"Texte {i}", "r") for i in range(3)]
    web.routes["/feed.xml"] = Reply(rss(entries), content_type="application/rss+xml", etag=True)
    for i in range(3):
        web.routes[f"/t/{i}"] = Reply(article(f"Texte {i}", 60 + i), delay=3)
    sources = sources_from(
        f"sources:\n  - id: t\n    name: T\n    kind: rss\n    url: {web.url('/feed.xml')}\n"
    )
    settings = fast_settings(crawl_time_limit_s=2, concurrent_requests=1, concurrent_per_host=1)
    report = run_collect(sources, db=store, settings=settings)
    assert report.status == "interrupted"
    assert (report.sources[0].status, report.sources[0].error_kind) == ("failed", "interrupted")
    stored = list(iter_items(store))
    assert len(stored) == 3 and not all(i.complete for i in stored)
    with store.connect() as c:
        assert c.execute(select(func.count()).select_from(http_cache)).scalar() == 0


def test_ctrl_c_stops_the_crawl_cleanly(web, store) -> None:  # noqa: ANN001
    """SIGINT (what run_collect forwards on Ctrl-C) makes Scrapy stop gracefully."""
    entries = [(web.url(f"/c/{i}"), f"Texte {i}", "r") for i in range(4)]
    web.routes["/feed.xml"] = Reply(rss(entries), content_type="application/rss+xml", etag=True)
    for i in range(4):
        web.routes[f"/c/{i}"] = Reply(article(f"Texte {i}", 80 + i), delay=2)
    sources = sources_from(
        f"sources:\n  - id: c\n    name: C\n    kind: rss\n    url: {web.url('/feed.xml')}\n"
    )

    def interrupt() -> None:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            with store.connect() as c:
                stored = c.execute(select(func.count()).select_from(items)).scalar()
                pid = c.execute(select(crawl_runs.c.pid).order_by(crawl_runs.c.id.desc())).scalar()
            if stored == 4 and pid:
                os.kill(pid, signal.SIGINT)
                return
            time.sleep(0.05)

    thread = threading.Thread(target=interrupt)
    thread.start()
    report = run_collect(
        sources, db=store, settings=fast_settings(concurrent_requests=1, concurrent_per_host=1)
    )
    thread.join()
    assert report.status == "interrupted"
    assert report.sources[0].error_kind == "interrupted"
    assert len(list(iter_items(store))) == 4


def test_a_run_left_running_is_interrupted_even_if_its_pid_is_alive(web, store) -> None:  # noqa: ANN001
    # A killed crawl's pid may outlive it: a zombie its killed parent never reaped (seen:
    # SIGKILL of `watcher collect`, then a re-run at once), or another process after a
    # reboot. Its run stayed 'running' through the next runs. The crawl lock says it all.
    from watcher.store import crawl_state as state

    web.routes["/feed.xml"] = Reply(
        rss([(web.url("/a"), "A", "a")]), content_type="application/rss+xml"
    )
    web.routes["/a"] = Reply(article("A", 1))
    stale = state.start_run(store, trigger="cli", pid=os.getpid())  # a live pid
    sources = sources_from(
        f"sources:\n  - id: k\n    name: K\n    kind: rss\n    url: {web.url('/feed.xml')}\n"
    )
    report = run_collect(sources, db=store, settings=fast_settings())
    assert report.status == "done"
    with store.connect() as c:
        status = c.execute(select(crawl_runs.c.status).where(crawl_runs.c.id == stale)).scalar()
    assert status == "interrupted"
