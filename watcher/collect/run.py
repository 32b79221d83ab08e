"""The collect stage: one Scrapy crawl, in a child process, over the given sources.

:func:`run_collect` is the entry point for the CLI, the scheduler and the demo.
This module never imports Scrapy or Twisted: the crawl runs in
``python -m watcher.collect.crawl`` (see :mod:`watcher.collect.crawl`), so the
calling process can start as many crawls as it likes.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import shutil
import sys
import tempfile
import threading
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from watcher.base.clock import utcnow
from watcher.collect.lock import HeldLock, crawl_lock
from watcher.collect.process import run_child
from watcher.config import Source, SourcesFile
from watcher.exceptions import ConfigError
from watcher.files import left_by_dead_processes, left_long_ago
from watcher.models import CrawlExit, RunReport, SourceReport
from watcher.settings import CollectSettings, Settings
from watcher.store import Store
from watcher.store import crawl_state as state
from watcher.store.run_lock import lock_path

__all__ = ["run_collect", "select_sources", "source_job"]

# How long a crawl may take to stop cleanly when no Settings give schedule.crawl_kill_grace_s.
DEFAULT_GRACE_S = 60.0

EventCallback = Callable[[dict[str, Any]], None]


def select_sources(
    sources: SourcesFile | Iterable[Source], only: Iterable[str] | None = None
) -> list[Source]:
    """From a sources file: its enabled sources, or exactly the ``only`` ones (enabled or
    not). A list of sources is taken as given (filtered by ``only`` when given)."""
    only = list(only or [])
    if isinstance(sources, SourcesFile):
        return sources.enabled(only or None)
    listed = list(sources)
    if only:
        unknown = set(only) - {s.id for s in listed}
        if unknown:
            raise ConfigError(f"unknown source id(s): {', '.join(sorted(unknown))}")
        return [s for s in listed if s.id in only]
    return listed  # a list is taken as given: the caller chose it


def source_job(source: Source) -> dict[str, Any]:
    data = source.model_dump(mode="json")
    data["check_every"] = (
        source.check_every.total_seconds() / 3600
    )  # hours, as the schema reads them
    return data


def _mark_stale_runs(store: Store) -> None:
    """Runs left 'running' were interrupted: called with the crawl lock held, which
    every crawl process holds for as long as it lives, so none of them is running.

    Not by their pid: a killed crawl's pid may still exist as a zombie not yet reaped
    (its parent was killed too) or, after a reboot, belong to another process; its run
    then stayed 'running' through the next runs."""
    from sqlalchemy import update

    from watcher.store.schema import crawl_runs

    with store.begin() as connection:
        connection.execute(
            update(crawl_runs)
            .where(crawl_runs.c.status == "running")
            .values(status="interrupted", finished_at=utcnow())
        )


def _tail(path: Path, lines: int = 15) -> str:
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def run_collect(
    sources: SourcesFile | Iterable[Source],
    *,
    db: Store | Path | str | None,
    settings: Settings | CollectSettings | None = None,
    only: Iterable[str] | None = None,
    trigger: str = "cli",
    progress: bool = False,
    on_event: EventCallback | None = None,
    stop: threading.Event | None = None,
    log_path: Path | None = None,
) -> RunReport:
    """Collect the sources in one crawl (a child process) and return the run's report.

    Takes the crawl lock of the database first (``CrawlBusy`` when another crawl holds
    it) and keeps it until the crawl process is gone; the process, its time limit and
    its end are :mod:`watcher.collect.process`'s business. ``stop`` (the scheduler
    stopping) asks the crawl to stop cleanly; ``log_path`` keeps the crawl's log there
    (else ``collect.crawl_log``, else a temporary file shown only if the crawl crashes).
    How the process ended is ``report.exit``.

    Sources that fail are reported, never raised. Raises ``WatcherError`` only when
    the crawl itself cannot run, ``KeyboardInterrupt`` after a Ctrl-C (the run is
    then marked ``interrupted`` and the store left consistent).
    """
    full = settings if isinstance(settings, Settings) else None
    collect = full.collect if full else settings or CollectSettings()
    # schedule.crawl_kill_grace_s: how long a crawl may take to stop, for every caller.
    grace_s = float(full.schedule.crawl_kill_grace_s if full else DEFAULT_GRACE_S)
    selected = select_sources(sources, only)
    store = db if isinstance(db, Store) else Store(db)
    output_dir = full.publish.output_dir if full else Path("output")
    try:
        with crawl_lock(lock_path(store, output_dir)) as lock:
            _mark_stale_runs(store)
            state.upsert_sources(store, selected)
            run_id = state.start_run(store, trigger=trigger)
            if not selected:
                state.finish_run(store, run_id, "done")
                return state.run_report(store, run_id)
            outcome = _crawl(
                store,
                run_id,
                selected,
                collect,
                lock=lock,
                grace_s=grace_s,
                stop=stop,
                log_path=log_path,
                progress=progress,
                on_event=on_event,
            )
            report = state.run_report(store, run_id)
            report.exit = outcome
            return report
    finally:
        if not isinstance(db, Store):
            store.close()


_CRAWL_FOLDER_PID = re.compile(r"^watcher-crawl-(\d+)-")
_OLD_CRAWL_FOLDER = re.compile(r"watcher-crawl-[a-z0-9_]{8}")  # tempfile's own names


def _remove_killed_crawls_folders() -> None:
    """A crawl whose parent was killed (SIGKILL, a power cut) left its job file and
    log in the temporary folder for good: its pid in the name tells it is gone, and
    older versions' unnamed ones go once untouched for a day."""
    tmp = Path(tempfile.gettempdir())
    left = [
        *left_by_dead_processes(tmp, "watcher-crawl-*", pid_in=_CRAWL_FOLDER_PID).values(),
        *left_long_ago(tmp, "watcher-crawl-*", _OLD_CRAWL_FOLDER),
    ]
    for folder in left:
        shutil.rmtree(folder, ignore_errors=True)


def _crawl(
    store: Store,
    run_id: int,
    selected: list[Source],
    collect: CollectSettings,
    *,
    lock: HeldLock,
    grace_s: float,
    stop: threading.Event | None,
    log_path: Path | None,
    progress: bool,
    on_event: EventCallback | None,
) -> CrawlExit:
    """The crawl process over ``selected`` for run ``run_id``; what it left unfinished
    is recorded on the run."""
    _remove_killed_crawls_folders()
    with tempfile.TemporaryDirectory(prefix=f"watcher-crawl-{os.getpid()}-") as tmp:
        job_path = Path(tmp) / "job.json"
        job = {
            "db": store.url,
            "run_id": run_id,
            "sources": [source_job(s) for s in selected],
            "settings": collect.model_dump(mode="json"),
            "log_level": "INFO",
            "parent_pid": os.getpid(),
        }
        job_path.write_text(json.dumps(job), encoding="utf-8")
        log_path = log_path or (
            Path(collect.crawl_log) if collect.crawl_log else Path(tmp) / "crawl.log"
        )
        log_path.parent.mkdir(parents=True, exist_ok=True)
        command = [sys.executable, "-m", "watcher.collect.crawl", str(job_path)]
        closed: dict[str, str] = {}
        with (
            open(log_path, "a", encoding="utf-8") as log,
            _progress(progress, len(selected), on_event) as callback,
        ):
            try:
                outcome = run_child(
                    command,
                    lock=lock,
                    time_limit_s=collect.crawl_time_limit_s,
                    grace_s=grace_s,
                    stderr=log,
                    stop=stop,
                    on_line=_events(callback, closed),
                    on_start=lambda pid: state.set_run_pid(store, run_id, pid),
                )
            except KeyboardInterrupt:
                _close_run(store, run_id, selected, "interrupted (Ctrl-C)")
                raise
        # Scrapy's close reason when the crawl stopped itself at the time limit.
        outcome.timed_out |= closed.get("reason") == "closespider_timeout"
        if outcome.returncode != 0 and not outcome.killed:
            outcome.log_tail = _tail(log_path)
        _close_run(
            store,
            run_id,
            selected,
            _why(outcome, collect.crawl_time_limit_s),
            # "killed": cut by the time limit; a stop asked for is an interruption.
            status="killed" if outcome.killed and not outcome.stopped else "interrupted",
        )
    return outcome


def _events(callback: EventCallback | None, closed: dict[str, str]) -> Callable[[str], None]:
    """The child's progress events (JSON lines on its stdout) to ``callback``."""

    def on_line(line: str) -> None:
        line = line.strip()
        if not line.startswith("{"):
            return
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            return
        if event.get("event") == "closed":
            closed["reason"] = str(event.get("reason"))
        if callback is not None:
            callback(event)

    return on_line


def _why(outcome: CrawlExit, limit_s: float) -> str:
    """What unfinished sources are told."""
    if outcome.killed:
        return f"the crawl process did not stop and was killed (time limit {limit_s:.0f} s)"
    if outcome.timed_out:
        return f"the crawl stopped at its time limit ({limit_s:.0f} s)"
    if outcome.stopped:
        return "the crawl was asked to stop"
    if outcome.returncode != 0:
        return (
            f"the crawl process ended with status {outcome.returncode}: {outcome.log_tail[-1500:]}"
        )
    return "the crawl stopped before this source finished"


def _close_run(
    store: Store, run_id: int, selected: list[Source], message: str, status: str = "interrupted"
) -> None:
    """Whatever the child left unfinished is recorded as interrupted."""
    done = state.recorded_sources(store, run_id)
    missing = [s for s in selected if s.id not in done]
    for source in missing:
        state.record_source_run(
            store,
            run_id,
            SourceReport(
                source.id, "failed", error_kind="interrupted", error_message=message[:2000]
            ),
            utcnow(),
        )
    final = status if missing or status == "killed" else "done"
    state.finish_run(store, run_id, final, only_if_running=True)


@contextlib.contextmanager
def _progress(enabled: bool, total: int, on_event: EventCallback | None):  # noqa: ANN202
    if not enabled:
        yield on_event
        return
    from rich.console import Console
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    columns = (
        TextColumn("[bold]collect[/bold]"),
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        TextColumn("{task.description}"),
    )
    with Progress(*columns, console=Console(stderr=True), transient=True) as bar:
        task = bar.add_task("", total=total)

        def callback(event: dict[str, Any]) -> None:
            if event.get("event") == "source":
                bar.update(task, advance=1, description=f"{event['source']}: {event['status']}")
            if on_event is not None:
                on_event(event)

        yield callback
