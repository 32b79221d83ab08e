"""Fixtures of the schedule tests: a runtime with recording jobs and a scheduler driven by a controllable clock (time-machine) instead of the wall clock."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from apscheduler.schedulers.base import BaseScheduler

from tests import shared
from watcher.schedule import runtime as rt_mod
from watcher.schedule.runtime import JobResult, Runtime
from watcher.schedule.scheduler import start
from watcher.settings import Settings
from watcher.store import Store

PARIS = ZoneInfo("Europe/Paris")


def paris(*args: int) -> datetime:
    return datetime(*args, tzinfo=PARIS)


def make_settings(tmp_path: Path, smtp_port: int = 1, **schedule: object) -> Settings:
    """The shared builder with the output under ``out/`` and schedule overrides."""
    return shared.make_settings(
        tmp_path,
        smtp_port=smtp_port,
        schedule=schedule,
        publish={"output_dir": tmp_path / "out", "site_dir": tmp_path / "out" / "site"},
    )


class Recorder:
    """Fake jobs: each call is recorded with the (fake) Paris time it ran at."""

    def __init__(self) -> None:
        self.calls: list[tuple[str, datetime]] = []

    def job(self, name: str, outcome: str = "ok"):  # noqa: ANN201
        def run(rt: Runtime) -> JobResult:
            self.calls.append((name, datetime.now(PARIS)))
            return JobResult(outcome, f"fake {name}")

        return run

    def names(self) -> list[str]:
        return [name for name, _ in self.calls]

    def of(self, name: str) -> list[datetime]:
        return [when for n, when in self.calls if n == name]


JOB_NAMES = ("collect", "classify", "draft", "send", "site", "health", "digest", "retention")


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def runtime(store: Store, tmp_path: Path, recorder: Recorder) -> Iterator[Runtime]:
    rt = Runtime(
        store=store,
        settings=make_settings(tmp_path),
        jobs={name: recorder.job(name) for name in JOB_NAMES},
    )
    yield rt
    rt_mod.install(None)


class Clock:
    """Drive a (paused-thread) scheduler through fake time, one wake-up at a time."""

    def __init__(self, scheduler) -> None:  # noqa: ANN001
        self.scheduler = scheduler

    def at(self, moment: datetime) -> None:
        with time_machine.travel(moment, tick=False):
            self.scheduler._process_jobs()

    def run(self, start: datetime, end: datetime, step_min: int = 15) -> None:
        """Visit every due time between start and end, plus a regular step."""
        from datetime import UTC, timedelta

        # UTC arithmetic: adding an hour to a Paris wall time is wrong across a DST change.
        moment, end = start.astimezone(UTC), end.astimezone(UTC)
        while moment <= end:
            self.at(moment)
            nexts = [j.next_run_time for j in self.scheduler.get_jobs() if j.next_run_time]
            candidate = moment + timedelta(minutes=step_min)
            if nexts:
                candidate = min(candidate, min(nexts).astimezone(UTC))
            moment = max(candidate, moment + timedelta(seconds=1))


class ManualScheduler(BaseScheduler):
    """No thread of its own: jobs run only when the test's Clock calls _process_jobs."""

    def wakeup(self) -> None:
        pass

    def shutdown(self, wait: bool = True) -> None:
        super().shutdown(wait)


@pytest.fixture
def start_manual(runtime: Runtime):  # noqa: ANN201
    """start(moment) → a scheduler started at that fake moment, with its Clock."""
    started = []

    def _start(moment: datetime, rt: Runtime | None = None):  # noqa: ANN202
        with time_machine.travel(moment, tick=False):
            scheduler = start(rt or runtime, executor="debug", scheduler_class=ManualScheduler)
        started.append(scheduler)
        return scheduler, Clock(scheduler)

    yield _start
    for scheduler in started:
        if scheduler.running:
            scheduler.shutdown(wait=False)
