"""Running unattended: APScheduler jobs, alerts digest, status, backup, retention.

``watcher schedule`` runs :func:`run_forever`; ``watcher run JOB`` calls
:func:`watcher.schedule.runtime.run_job` directly, the same code path. The
desk reads :func:`open_alerts`.
"""

from __future__ import annotations

from pathlib import Path

from watcher.schedule.alerts import open_alerts
from watcher.schedule.runtime import JobResult, Runtime, run_job
from watcher.schedule.scheduler import list_jobs, run_forever, start
from watcher.settings import Settings
from watcher.store import Store


def make_runtime(
    store: Store,
    settings: Settings,
    *,
    sources_path: Path | None = None,
    settings_path: Path | None = None,
) -> Runtime:
    from watcher.schedule.jobs import JOBS

    return Runtime(
        store=store,
        settings=settings,
        sources_path=sources_path,
        settings_path=settings_path,
        jobs=dict(JOBS),
    )


__all__ = [
    "JobResult",
    "Runtime",
    "list_jobs",
    "make_runtime",
    "open_alerts",
    "run_forever",
    "run_job",
    "start",
]
