"""Crawls under the scheduler: which sources are due.

The crawl itself is the collect stage's :func:`watcher.collect.run_collect`, called by
the ``collect`` job in the scheduler's own process: one child process per crawl, with
the crawl lock, the time limit (``collect.crawl_time_limit_s``, then
``schedule.crawl_kill_grace_s`` before SIGINT and as much again before SIGKILL) and the
clean stop when the scheduler stops, all in :mod:`watcher.collect.process`.

Two crawls never overlap: APScheduler runs at most one ``collect`` job
(``max_instances=1``, coalescing), and the crawl lock next to the database, held by the
crawl process as long as it lives, keeps ``watcher collect`` or ``watcher run collect``
from starting a crawl while the scheduler's is running.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from watcher.schedule.runtime import Runtime
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
