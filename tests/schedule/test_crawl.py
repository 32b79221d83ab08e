"""Crawls under the scheduler: due sources, no overlap, a hung crawl killed and reported."""

from __future__ import annotations

import sys
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import time_machine
from sqlalchemy import select

from watcher.models import SourceReport
from watcher.schedule import jobs
from watcher.schedule.crawl import CrawlBusy, crawl_lock, due_sources, run_crawl
from watcher.schedule.runtime import JobResult, install, run_job
from watcher.store import jobs as store_jobs
from watcher.store.crawl_state import record_source_run, start_run
from watcher.store.schema import crawl_runs

from .conftest import make_settings, paris

FAKE = Path(__file__).parent / "data" / "fake_crawl.py"
SOURCES = """
sources:
  - {id: fast, name: Fast, kind: rss, url: "http://127.0.0.1:9/fast.xml", check_every: 1h}
  - {id: slow, name: Slow, kind: rss, url: "http://127.0.0.1:9/slow.xml", check_every: 1d}
  - {id: plain, name: Plain, kind: rss, url: "http://127.0.0.1:9/plain.xml"}
  - {id: closed, name: Closed, kind: rss, url: "http://127.0.0.1:9/closed.xml", enabled: false}
"""


@pytest.fixture
def crawl_rt(runtime, tmp_path):  # noqa: ANN001, ANN201
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES, encoding="utf-8")
    runtime.sources_path = path
    runtime.jobs["collect"] = jobs.collect
    runtime.settings = make_settings(tmp_path, failing_runs_alert=2, crawl_kill_grace_s=1)
    runtime.mode = "ok"
    runtime.crawl_argv = lambda ids: [
        sys.executable,
        str(FAKE),
        runtime.mode,
        runtime.store.url,
        *ids,
    ]
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


def test_failing_sources_raise_one_alert_after_n_runs(crawl_rt, store):
    crawl_rt.mode = "fail"
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
    # Back to normal: the alert clears.
    crawl_rt.mode = "ok"
    with time_machine.travel(datetime.now(UTC) + timedelta(days=4)):
        run_job("collect")
    assert store_jobs.open_alerts(store) == []


def test_a_hung_crawl_is_killed_and_reported(crawl_rt, store):
    crawl_rt.mode = "stubborn"  # ignores SIGTERM: needs SIGKILL
    crawl_rt.settings.collect.crawl_time_limit_s = 1
    assert run_job("collect") == "killed"
    run = store_jobs.last_job_runs(store)["collect"]
    assert run["outcome"] == "killed"
    with store.connect() as conn:
        statuses = conn.execute(select(crawl_runs.c.status)).scalars().all()
    assert statuses == ["killed"]  # not left "running" for ever
    alerts = store_jobs.open_alerts(store) + store_jobs.undigested_alerts(store)
    assert "crawl_timeout" in {a["kind"] for a in alerts}
    # What the crawl saved before it was cut is whole, and classified.
    assert store_jobs.last_job_runs(store)["classify"]["trigger"] == "after-crawl"


def test_a_crawl_that_stops_on_sigterm_is_not_sigkilled(crawl_rt, store):
    crawl_rt.mode = "hang"
    outcome = run_crawl(crawl_rt, ["fast"], time_limit_s=0.5)
    assert outcome.timed_out and not outcome.killed
    assert outcome.returncode == 130
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
        release.wait(10)
        return JobResult("ok", "slow")

    runtime.jobs["collect"] = slow_collect
    with time_machine.travel(paris(2026, 11, 24, 10, 0), tick=False):
        scheduler = start(runtime, scheduler_class=ManualScheduler)  # thread pool
    clock = Clock(scheduler)
    try:
        clock.at(paris(2026, 11, 24, 10, 0))
        assert running.wait(5)
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


def test_stopping_the_runtime_stops_the_crawl_cleanly(crawl_rt, store):
    crawl_rt.mode = "hang"
    timer = threading.Timer(1.0, crawl_rt.stop)  # what SIGTERM to the scheduler does
    timer.start()
    try:
        outcome = run_crawl(crawl_rt, ["fast"])
    finally:
        timer.cancel()
    assert outcome.stopped and not outcome.killed and not outcome.timed_out
    assert outcome.returncode == 130  # the child stopped itself at a safe point
    with store.connect() as conn:
        assert conn.execute(select(crawl_runs.c.status)).scalars().all() == ["interrupted"]
