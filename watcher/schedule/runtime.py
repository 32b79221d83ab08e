"""What a job runs with, and the one entry point every job goes through.

APScheduler persists jobs by pickling a reference to a module-level function
and its arguments, so a stored job is only ``run_job("send")``: the store,
the settings and the registry of job functions live in the process's
:class:`Runtime`, installed once by ``watcher schedule`` or ``watcher run``.
Tests install a runtime whose registry holds recording fakes.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from watcher.schedule.logs import log_event
from watcher.settings import Settings
from watcher.store import Store
from watcher.store.locking import DatabaseLock

FUNC_REF = "watcher.schedule.runtime:run_job"


@dataclass
class JobResult:
    outcome: str = "ok"  # ok | skipped | failed | killed | interrupted
    detail: str = ""
    quiet: bool = False  # an idle tick: recorded, but logged at DEBUG only


JobFunc = Callable[["Runtime"], JobResult]


@dataclass
class Runtime:
    store: Store
    settings: Settings
    sources_path: Path | None = None
    settings_path: Path | None = None
    jobs: dict[str, JobFunc] = field(default_factory=dict)
    # Set when the scheduler stops: a running crawl is asked to stop cleanly (run_collect).
    stopping: threading.Event = field(default_factory=threading.Event)

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.settings.schedule.timezone)

    def now(self) -> datetime:
        return datetime.now(UTC)

    def load_sources(self) -> Any:  # watcher.config.SourcesFile
        from watcher.base.taxonomy import taxonomy_for
        from watcher.config import load_sources

        return load_sources(self.sources_path, taxonomy_for(self.settings).ids("themes"))

    def _lock(self, what: str) -> Path | DatabaseLock:
        from watcher.store.run_lock import lock_path

        return lock_path(self.store, self.settings.publish.output_dir, what)

    @property
    def lock_path(self) -> Path | DatabaseLock:
        """Held while a crawl runs: two crawls never overlap."""
        return self._lock("crawl")

    @property
    def schedule_lock_path(self) -> Path | DatabaseLock:
        """Held by the one `watcher schedule` process of a database (on PostgreSQL, of
        every machine sharing it)."""
        return self._lock("schedule")

    @property
    def log_dir(self) -> Path:
        return self.settings.schedule.log_file.parent

    def stop(self) -> None:
        """Ask running jobs to stop at a safe point (a crawl: within POLL_S, cleanly)."""
        self.stopping.set()


_current: Runtime | None = None


def install(runtime: Runtime | None) -> None:
    global _current
    _current = runtime


def current() -> Runtime:
    if _current is None:
        raise RuntimeError("no watcher runtime installed: start `watcher schedule`")
    return _current


def run_job(name: str, trigger: str = "schedule") -> str:
    """Run one job by name, record its run and outcome; never raises.

    The scheduler calls this for stored jobs, ``watcher run JOB`` calls it with
    trigger 'manual', and jobs call it for their follow-ups (classify after a
    crawl, the site after a publication), so every path is recorded the same way.
    """
    from watcher.schedule.alerts import alert, clear
    from watcher.store.jobs import finish_job_run, start_job_run

    rt = current()
    func = rt.jobs.get(name)
    if func is None:
        log_event("job_unknown", logging.ERROR, job=name, known=",".join(sorted(rt.jobs)))
        return "failed"
    try:
        run_id: int | None = start_job_run(rt.store, name, trigger=trigger)
    except Exception as exc:
        # Run it all the same: a send skipped now would wait a week for its next trigger.
        log_event("job_record_failed", logging.ERROR, job=name, error=brief(exc))
        run_id = None
    # The collect tick runs every few minutes; its crawls log their own start.
    log_event(
        "job_start", logging.DEBUG if name == "collect" else logging.INFO, job=name, trigger=trigger
    )
    started = time.monotonic()
    try:
        result = func(rt)
    except Exception as exc:
        logging.getLogger(__name__).debug("job %s failed", name, exc_info=True)
        result = JobResult("failed", f"{type(exc).__name__}: {exc}")
        quietly(alert, rt, "job_failed", name, result.detail)
    else:
        if result.outcome in ("ok", "skipped"):
            quietly(clear, rt, "job_failed", name)
            quietly(clear, rt, "job_missed", name)  # run since, by hand or at its next time
    if run_id is not None:
        try:
            finish_job_run(rt.store, run_id, result.outcome, result.detail)
        except Exception as exc:  # the store itself is failing: still say so in the log
            log_event("job_record_failed", logging.ERROR, job=name, error=brief(exc))
    level = {"ok": logging.INFO, "skipped": logging.INFO, "interrupted": logging.WARNING}.get(
        result.outcome, logging.ERROR
    )
    if result.quiet and level == logging.INFO:
        level = logging.DEBUG
    log_event(
        "job_done",
        level,
        job=name,
        outcome=result.outcome,
        duration_s=round(time.monotonic() - started, 2),
        detail=result.detail,
    )
    return result.outcome


def brief(exc: BaseException) -> str:
    """An error's first line, for a log field or a job's detail: SQLAlchemy's message
    carries the statement and a link after it."""
    return (str(exc).splitlines() or [type(exc).__name__])[0]


def quietly(func: Callable[..., Any], rt: Runtime, kind: str, subject: str, *args: str) -> None:
    """Open or clear an alert; when the store cannot take it (the very failure the job
    met, often), the log says so and the job's run is still recorded and logged."""
    try:
        func(rt, kind, subject, *args)
    except Exception as exc:
        log_event("alert_failed", logging.ERROR, kind=kind, subject=subject, error=brief(exc))
