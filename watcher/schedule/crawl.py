"""Crawls under the scheduler: which sources are due, one at a time, with a time limit.

A crawl runs in a child process (Twisted's reactor cannot restart inside the
long-lived scheduler) that leads its own process group, so the scheduler can
reach Scrapy's process too: the collect stage stops its own crawl at
``collect.crawl_time_limit_s``; should the child still be running after
``schedule.crawl_kill_grace_s`` more, it gets SIGTERM (which the child turns
into a clean stop: Scrapy closes the spider, every item already saved is
whole, one transaction each), and SIGKILL for it and its descendants after
the same grace again. The run's report is read
back from the store.

Two crawls never overlap: APScheduler runs at most one ``collect`` job
(``max_instances=1``, coalescing), and a file lock next to the database keeps
``watcher run collect`` from starting a crawl while the scheduler's is running.
"""

from __future__ import annotations

import contextlib
import json
import logging
import signal
import subprocess
import sys
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import psutil

from watcher.collect.lock import CrawlBusy, crawl_lock  # noqa: F401 - re-exported
from watcher.schedule.logs import log_event
from watcher.schedule.runtime import Runtime, signal_group
from watcher.store import jobs as store_jobs


def source_interval(source: Any, default_h: float) -> timedelta:
    # sources.yaml's check_every when written, else the schedule's default.
    if "check_every" in source.model_fields_set:
        return source.check_every
    return timedelta(hours=default_h)


def due_sources(rt: Runtime, sources: list[Any], now: datetime) -> list[Any]:
    """Enabled sources whose interval has elapsed since their last attempt.

    Counted from the last attempt, failed or not, rather than the last
    success: a broken source is then retried at its own pace instead of at
    every tick, which would hammer its host and make "N failed runs in a row"
    mean minutes instead of days.
    """
    last = store_jobs.last_source_attempts(rt.store)
    # A tick a few seconds late must not push a 6-hour source to the next tick.
    slack = timedelta(minutes=rt.settings.schedule.collect_check_every_min / 2)
    due = []
    for source in sources:
        interval = source_interval(source, rt.settings.schedule.collect_default_interval_h)
        seen = last.get(source.id)
        if seen is None or now - seen >= interval - slack:
            due.append(source)
    return due


@dataclass
class CrawlOutcome:
    returncode: int | None
    timed_out: bool = False
    killed: bool = False  # SIGKILL was needed
    stopped: bool = False  # the scheduler was stopping
    duration_s: float = 0.0
    run_ids: list[int] = field(default_factory=list)
    sources: list[dict[str, Any]] = field(default_factory=list)
    stderr_tail: str = ""

    @property
    def ok(self) -> bool:
        return self.returncode == 0 and not self.timed_out

    def counts(self) -> dict[str, int]:
        out = {"ok": 0, "not_modified": 0, "failed": 0, "skipped": 0, "new": 0}
        for row in self.sources:
            out[row["status"]] = out.get(row["status"], 0) + 1
            out["new"] += int(row.get("items_new") or 0)
        return out


def default_argv(rt: Runtime, ids: list[str]) -> list[str]:
    argv = [sys.executable, "-m", "watcher.schedule.crawl_child", "--db", rt.store.url]
    if rt.sources_path is not None:
        argv += ["--sources", str(rt.sources_path)]
    if rt.settings_path is not None:
        argv += ["--settings", str(rt.settings_path)]
    return argv + ["--", *ids]


def kill_tree(proc: subprocess.Popen) -> None:
    """SIGKILL the child and every descendant (Scrapy runs in a session of its own)."""
    try:
        descendants = psutil.Process(proc.pid).children(recursive=True)
    except psutil.Error:
        descendants = []
    signal_group(proc, signal.SIGKILL)
    for child in descendants:
        with contextlib.suppress(psutil.Error):
            child.kill()


def _tail(path: Path, lines: int = 15) -> str:
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return ""
    return "\n".join(text.splitlines()[-lines:])


def run_crawl(rt: Runtime, ids: list[str], *, time_limit_s: float | None = None) -> CrawlOutcome:
    """Run one crawl child over ``ids`` and wait for it, within the time limit."""
    limit = float(time_limit_s or rt.settings.collect.crawl_time_limit_s)
    grace = float(rt.settings.schedule.crawl_kill_grace_s)
    hard_limit = limit + grace
    argv = rt.crawl_argv(ids) if rt.crawl_argv else default_argv(rt, ids)
    rt.log_dir.mkdir(parents=True, exist_ok=True)
    out_path, err_path = rt.log_dir / "crawl-last.out", rt.log_dir / "crawl-last.log"
    since = rt.now() - timedelta(seconds=1)
    started = time.monotonic()
    with open(out_path, "wb") as out, open(err_path, "wb") as err:
        proc = subprocess.Popen(
            argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL, start_new_session=True
        )
        rt.track(proc)
        log_event("crawl_start", pid=proc.pid, sources=len(ids), time_limit_s=int(limit))
        outcome = CrawlOutcome(returncode=None)
        term_sent_at: float | None = None
        try:
            while True:
                try:
                    outcome.returncode = proc.wait(timeout=0.5)
                    break
                except subprocess.TimeoutExpired:
                    pass
                except KeyboardInterrupt:
                    # Ctrl-C on `watcher run collect`: the child has its own session and
                    # did not get it; stop it cleanly as the scheduler would.
                    log_event("crawl_interrupt", logging.WARNING, pid=proc.pid)
                    rt.stop()
                elapsed = time.monotonic() - started
                if term_sent_at is None and rt.stopping.is_set():
                    # Runtime.stop() already sent SIGTERM to the group.
                    outcome.stopped, term_sent_at = True, time.monotonic()
                if term_sent_at is None and elapsed > hard_limit:
                    outcome.timed_out, term_sent_at = True, time.monotonic()
                    log_event("crawl_timeout", logging.WARNING, pid=proc.pid, after_s=int(elapsed))
                    signal_group(proc, signal.SIGTERM)
                elif term_sent_at is not None and time.monotonic() - term_sent_at > grace:
                    outcome.killed = True
                    log_event("crawl_kill", logging.ERROR, pid=proc.pid)
                    kill_tree(proc)
                    outcome.returncode = proc.wait()
                    break
        finally:
            rt.untrack(proc)
    outcome.duration_s = round(time.monotonic() - started, 2)
    outcome.stderr_tail = _tail(err_path)
    try:
        reported = json.loads(out_path.read_text(encoding="utf-8") or "{}")
    except (OSError, ValueError):
        reported = {}
    runs = store_jobs.crawl_runs_since(rt.store, since)
    outcome.run_ids = [int(reported["run_id"])] if reported.get("run_id") else []
    outcome.run_ids += [r["id"] for r in runs if r["id"] not in outcome.run_ids]
    # run_collect enforces the limit itself and stops cleanly: a crawl that took
    # longer than its limit was cut there, even when this process did not have to.
    if outcome.duration_s > limit:
        outcome.timed_out = True
    if outcome.timed_out or outcome.killed or outcome.stopped:
        status = "interrupted" if outcome.stopped and not outcome.timed_out else "killed"
        store_jobs.close_crawl_runs(rt.store, outcome.run_ids, status)
    for run_id in outcome.run_ids:
        outcome.sources += store_jobs.source_runs_of(rt.store, run_id)
    return outcome
