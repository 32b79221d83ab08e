"""Crawls under the scheduler: due sources, no overlap, a hung crawl killed and reported."""

from __future__ import annotations

import threading
import time
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
import time_machine
from sqlalchemy import select

from watcher.collect.lock import CrawlBusy, crawl_lock
from watcher.models import SourceReport
from watcher.schedule import jobs
from watcher.schedule.crawl import due_sources
from watcher.schedule.runtime import JobResult, install, run_job
from watcher.settings import CollectSettings
from watcher.store import jobs as store_jobs
from watcher.store.crawl_state import record_source_run, start_run
from watcher.store.schema import crawl_runs

from .conftest import make_settings, paris

SOURCES = """
sources:
  - {id: fast, name: Fast, kind: rss, url: "BASE/fast.xml", check_every: 1h, fetch_article: false}
  - {id: slow, name: Slow, kind: rss, url: "BASE/slow.xml", check_every: 1d, fetch_article: false}
  - {id: plain, name: Plain, kind: rss, url: "BASE/plain.xml", fetch_article: false}
  - {id: closed, name: Closed, kind: rss, url: "BASE/closed.xml", enabled: false}
"""


class _Feeds(BaseHTTPRequestHandler):
    """Each source's feed: one new entry at every request, a 503 in "fail" mode, an
    answer after ``delay`` seconds (sooner once ``release`` is set); ``requested`` is
    set as a feed is asked for: the crawl has started."""

    def log_message(self, *args) -> None:  # noqa: ANN002
        pass

    def do_GET(self) -> None:  # noqa: N802
        if self.path == "/robots.txt":
            self.send_response(404)
            self.end_headers()
            return
        self.server.requested.set()
        self.server.release.wait(self.server.delay)
        if self.server.mode == "fail":
            self.send_response(503)
            self.end_headers()
            return
        self.server.count += 1
        link = f"http://example.org{self.path}/{self.server.count}"
        body = (
            '<?xml version="1.0"?><rss version="2.0"><channel><title>t</title>'
            f"<item><title>Item {self.server.count}</title><link>{link}</link></item>"
            "</channel></rss>"
        ).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def feeds():  # noqa: ANN201
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Feeds)
    server.daemon_threads = True
    server.mode, server.delay, server.count = "ok", 0.0, 0
    server.requested, server.release = threading.Event(), threading.Event()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.release.set()
    server.shutdown()
    server.server_close()


@pytest.fixture
def crawl_rt(runtime, tmp_path, feeds):  # noqa: ANN001, ANN201
    path = tmp_path / "sources.yaml"
    base = f"http://127.0.0.1:{feeds.server_port}"
    path.write_text(SOURCES.replace("BASE", base), encoding="utf-8")
    runtime.sources_path = path
    runtime.jobs["collect"] = jobs.collect
    runtime.settings = make_settings(tmp_path, failing_runs_alert=2, crawl_kill_grace_s=1)
    runtime.settings.collect = CollectSettings(
        download_delay_s=0, autothrottle=False, retry_times=0, download_timeout_s=60
    )
    install(runtime)
    return runtime


def _attempt(store, source_id: str, when: datetime, status: str = "ok") -> None:  # noqa: ANN001
    run_id = start_run(store)
    record_source_run(store, run_id, SourceReport(source_id, status), when)


def test_due_sources_follow_each_interval_from_the_last_attempt(crawl_rt, store):
    enabled = crawl_rt.load_sources().enabled()
    now = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
    assert [s.id for s in due_sources(crawl_rt, enabled, now)] == ["fast", "slow", "plain"]
    _attempt(store, "fast", now - timedelta(minutes=55))  # 1 h interval, within the slack
    _attempt(store, "slow", now - timedelta(hours=3), status="failed")  # 1 day
    _attempt(store, "plain", now - timedelta(hours=3))  # default 6 h
    assert [s.id for s in due_sources(crawl_rt, enabled, now)] == ["fast"]
    later = now + timedelta(hours=3, minutes=1)
    assert [s.id for s in due_sources(crawl_rt, enabled, later)] == ["fast", "plain"]


def test_collect_job_crawls_the_due_sources_then_classifies(crawl_rt, store, recorder):
    assert run_job("collect") == "ok"
    runs = store_jobs.last_job_runs(store)
    assert runs["collect"]["outcome"] == "ok"
    assert (
        "3 sources due" in runs["collect"]["detail"] and "3 new items" in runs["collect"]["detail"]
    )
    assert runs["classify"]["trigger"] == "after-crawl" and recorder.names() == ["classify"]
    # Nothing is due right after: the next tick does not crawl again.
    assert run_job("collect") == "skipped"
    assert len(store_jobs.crawl_runs_since(store, datetime(2026, 1, 1, tzinfo=UTC))) == 1


def test_failing_sources_raise_one_alert_after_n_runs(crawl_rt, store, feeds):
    feeds.mode = "fail"
    run_job("collect")
    assert store_jobs.open_alerts(store) == []  # one failure is not yet a pattern
    with time_machine.travel(datetime.now(UTC) + timedelta(days=2)):
        run_job("collect")
        run_job("collect")  # a third failure refreshes the same alerts, no duplicates
    alerts = store_jobs.open_alerts(store)
    assert sorted(a["subject"] for a in alerts) == ["fast", "plain", "slow"]
    assert {a["kind"] for a in alerts} == {"source_failing"}
    assert all("http_5xx" in a["detail"] for a in alerts)
    assert {a["count"] for a in alerts} == {2}
    # The crawl's own log keeps the last crawl only.
    log = (crawl_rt.log_dir / "crawl-last.log").read_text(encoding="utf-8")
    assert log.count("Spider opened") == 1
    # Back to normal: the alert clears.
    feeds.mode = "ok"
    with time_machine.travel(datetime.now(UTC) + timedelta(days=4)):
        run_job("collect")
    assert store_jobs.open_alerts(store) == []


def test_a_hung_crawl_is_killed_and_reported(crawl_rt, store, feeds):
    feeds.delay = 120  # the crawl cannot stop cleanly: it waits for its downloads
    crawl_rt.settings.collect.crawl_time_limit_s = 1
    started = time.monotonic()
    assert run_job("collect") == "killed"
    # Limit, then the grace twice, then SIGKILL: a few seconds, not the downloads' 120
    # (the bound leaves room for a busy machine: it was 15 s against 30 s of delay).
    assert time.monotonic() - started < 60
    run = store_jobs.last_job_runs(store)["collect"]
    assert run["outcome"] == "killed"
    with store.connect() as conn:
        statuses = conn.execute(select(crawl_runs.c.status)).scalars().all()
    assert statuses == ["killed"]  # not left "running" for ever
    alerts = store_jobs.open_alerts(store) + store_jobs.undigested_alerts(store)
    assert "crawl_timeout" in {a["kind"] for a in alerts}
    # What the crawl saved before it was cut is whole, and classified.
    assert store_jobs.last_job_runs(store)["classify"]["trigger"] == "after-crawl"


def test_a_crawl_that_stops_at_its_limit_is_not_killed(crawl_rt, store, feeds, monkeypatch):
    from watcher.collect import process, run_collect

    # Stopped by itself, not by the caller's SIGINT once the grace is over: told by the
    # caller's calls, not by a duration that a busy machine's start-up may stretch.
    asked: list[int] = []
    ask = process._ask_to_stop
    monkeypatch.setattr(
        process, "_ask_to_stop", lambda child: asked.append(child.pid) or ask(child)
    )
    feeds.delay = 2.5
    crawl_rt.settings.collect.crawl_time_limit_s = 1
    crawl_rt.settings.schedule.crawl_kill_grace_s = 60
    sources = crawl_rt.load_sources().enabled(["fast"])
    report = run_collect(sources, db=store, settings=crawl_rt.settings)
    assert report.exit.timed_out and not report.exit.killed and asked == []
    assert report.exit.returncode == 0
    with store.connect() as conn:
        assert conn.execute(select(crawl_runs.c.status)).scalars().all() == ["interrupted"]


def test_two_crawls_never_overlap_through_the_lock(crawl_rt, store, tmp_path):
    with crawl_lock(crawl_rt.lock_path):
        with pytest.raises(CrawlBusy), crawl_lock(crawl_rt.lock_path):
            pass
        # `watcher run collect` while the scheduler's crawl holds the lock: skipped.
        assert run_job("collect") == "skipped"
        assert "held by another crawl" in store_jobs.last_job_runs(store)["collect"]["detail"]
    assert run_job("collect") == "ok"


def test_two_collect_ticks_never_overlap_in_the_scheduler(runtime, recorder, tmp_path):
    from apscheduler.schedulers.base import BaseScheduler

    from watcher.schedule.scheduler import start

    from .conftest import Clock, ManualScheduler

    assert issubclass(ManualScheduler, BaseScheduler)
    release, running, calls = threading.Event(), threading.Event(), []

    def slow_collect(rt):  # noqa: ANN001, ANN202
        calls.append(time.monotonic())
        running.set()
        release.wait(60)  # a safety net: the test releases it
        return JobResult("ok", "slow")

    runtime.jobs["collect"] = slow_collect
    with time_machine.travel(paris(2026, 11, 24, 10, 0), tick=False):
        scheduler = start(runtime, scheduler_class=ManualScheduler)  # thread pool
    clock = Clock(scheduler)
    try:
        clock.at(paris(2026, 11, 24, 10, 0))
        assert running.wait(30)
        clock.at(paris(2026, 11, 24, 10, 15))  # the next tick while the crawl runs
        clock.at(paris(2026, 11, 24, 10, 30))
        assert len(calls) == 1
    finally:
        release.set()
        scheduler.shutdown(wait=True)
    assert len(calls) == 1


def test_a_second_scheduler_on_the_same_database_refuses_to_start(runtime):
    from watcher.exceptions import WatcherError
    from watcher.schedule.scheduler import run_forever

    with (
        crawl_lock(runtime.schedule_lock_path),
        pytest.raises(WatcherError, match="another `watcher schedule` is running"),
    ):
        run_forever(runtime)


def test_stopping_the_runtime_stops_the_crawl_cleanly(crawl_rt, store, feeds, recorder):
    feeds.delay = 2.5
    crawl_rt.settings.schedule.crawl_kill_grace_s = 20

    # What SIGTERM to the scheduler does, once the crawl waits for a download: after a
    # fixed 1.5 s, a busy machine's crawl had not started yet, and was never stopped cleanly.
    def stop_once_crawling() -> None:
        if feeds.requested.wait(60):
            crawl_rt.stop()

    stopper = threading.Thread(target=stop_once_crawling)
    stopper.start()
    try:
        assert run_job("collect") == "interrupted"
    finally:
        feeds.requested.set()
        stopper.join()
    detail = store_jobs.last_job_runs(store)["collect"]["detail"]
    assert "scheduler stopping" in detail
    with store.connect() as conn:
        assert conn.execute(select(crawl_runs.c.status)).scalars().all() == ["interrupted"]
    assert "classify" not in recorder.names()  # not after a stop
