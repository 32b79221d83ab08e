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
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any

from watcher.base.clock import utcnow
from watcher.config import Source, SourcesFile
from watcher.exceptions import ConfigError, WatcherError
from watcher.models import RunReport, SourceReport
from watcher.settings import CollectSettings, Settings
from watcher.store import Store
from watcher.store import crawl_state as state

__all__ = ["run_collect", "select_sources", "source_job"]

GRACE_S = 20.0  # after a Ctrl-C or the time limit, how long the crawl may take to stop cleanly

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
    """Runs left 'running' by a process that no longer exists were interrupted."""
    import psutil
    from sqlalchemy import select, update

    from watcher.store.schema import crawl_runs

    with store.begin() as connection:
        for run_id, pid in connection.execute(
            select(crawl_runs.c.id, crawl_runs.c.pid).where(crawl_runs.c.status == "running")
        ).all():
            if pid is None or not psutil.pid_exists(pid):
                connection.execute(
                    update(crawl_runs)
                    .where(crawl_runs.c.id == run_id)
                    .values(status="interrupted", finished_at=utcnow())
                )


def _read_events(stream: Any, callback: EventCallback | None) -> None:
    for line in stream:
        line = line.strip()
        if not line.startswith("{"):
            continue
        try:
            event = json.loads(line)
        except json.JSONDecodeError:
            continue
        if callback is not None:
            with contextlib.suppress(Exception):
                callback(event)


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
) -> RunReport:
    """Collect the sources in one crawl (a child process) and return the run's report.

    Sources that fail are reported, never raised. Raises ``WatcherError`` only when
    the crawl itself cannot run, ``KeyboardInterrupt`` after a Ctrl-C (the run is
    then marked ``interrupted`` and the store left consistent).
    """
    collect = settings.collect if isinstance(settings, Settings) else settings or CollectSettings()
    selected = select_sources(sources, only)
    store = db if isinstance(db, Store) else Store(db)
    try:
        _mark_stale_runs(store)
        state.upsert_sources(store, selected)
        run_id = state.start_run(store, trigger=trigger)
        if not selected:
            state.finish_run(store, run_id, "done")
            return state.run_report(store, run_id)
        with tempfile.TemporaryDirectory(prefix="watcher-crawl-") as tmp:
            job_path = Path(tmp) / "job.json"
            job = {
                "db": store.url,
                "run_id": run_id,
                "sources": [source_job(s) for s in selected],
                "settings": collect.model_dump(mode="json"),
                "log_level": "INFO",
            }
            job_path.write_text(json.dumps(job), encoding="utf-8")
            log_path = Path(collect.crawl_log) if collect.crawl_log else Path(tmp) / "crawl.log"
            log_path.parent.mkdir(parents=True, exist_ok=True)
            returncode = _run_child(
                store, run_id, job_path, log_path, collect, len(selected), progress, on_event
            )
            if returncode not in (0, None):
                tail = _tail(log_path)
                _close_run(
                    store,
                    run_id,
                    selected,
                    f"the crawl process ended with status {returncode}: {tail[-1500:]}",
                )
            else:
                _close_run(store, run_id, selected, "the crawl stopped before this source finished")
        return state.run_report(store, run_id)
    finally:
        if not isinstance(db, Store):
            store.close()


def _run_child(
    store: Store,
    run_id: int,
    job_path: Path,
    log_path: Path,
    collect: CollectSettings,
    total: int,
    progress: bool,
    on_event: EventCallback | None,
) -> int | None:
    command = [sys.executable, "-m", "watcher.collect.crawl", str(job_path)]
    env = {**os.environ, "PYTHONUNBUFFERED": "1"}
    with (
        open(log_path, "a", encoding="utf-8") as log,
        _progress(progress, total, on_event) as callback,
    ):
        try:
            child = subprocess.Popen(
                command,
                stdout=subprocess.PIPE,
                stderr=log,
                text=True,
                env=env,
                # Own session: a Ctrl-C reaches the parent only, which then asks the crawl
                # to stop once (a second SIGINT would make Scrapy stop uncleanly).
                start_new_session=True,
            )
        except OSError as exc:
            raise WatcherError(f"cannot start the crawl process: {exc}") from exc
        state.set_run_pid(store, run_id, child.pid)
        reader = threading.Thread(target=_read_events, args=(child.stdout, callback), daemon=True)
        reader.start()
        try:
            try:
                _wait(child, reader, collect.crawl_time_limit_s + 2 * GRACE_S)
            except subprocess.TimeoutExpired:
                _stop(child)
        except KeyboardInterrupt:
            _stop(child)
            reader.join(timeout=2)
            state.finish_run(store, run_id, "interrupted", only_if_running=True)
            raise
        reader.join(timeout=5)
        return child.returncode


def _wait(child: subprocess.Popen, reader: threading.Thread, timeout: float) -> None:
    """Wait for the child to exit, waking up as soon as it does.

    ``Popen.wait(timeout=…)`` polls with sleeps of up to 50 ms, which a run where every
    feed answers 304 (under a second) would pay at each collect. The reader thread ends
    when the child's stdout closes, that is when it exits: joining it is an immediate
    wake-up (and a Ctrl-C still interrupts it). The deadline stays ``timeout``.
    """
    deadline = time.monotonic() + timeout
    reader.join(timeout=timeout)
    child.wait(timeout=max(0.0, deadline - time.monotonic()))


def _stop(child: subprocess.Popen) -> None:
    with contextlib.suppress(ProcessLookupError):
        child.send_signal(signal.SIGINT)
    try:
        child.wait(timeout=GRACE_S)
    except subprocess.TimeoutExpired:
        child.kill()
        child.wait()


def _close_run(store: Store, run_id: int, selected: list[Source], message: str) -> None:
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
    state.finish_run(store, run_id, "interrupted" if missing else "done", only_if_running=True)


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
