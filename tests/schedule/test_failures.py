"""A job that fails, a store that fails with it, a run missed: said once, in plain words."""

from __future__ import annotations

import logging

from sqlalchemy.exc import OperationalError

from watcher.schedule.runtime import install, run_job
from watcher.store import jobs as store_jobs
from watcher.store.jobs import job_history


def _store_down(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
    raise OperationalError("INSERT INTO alerts", {}, Exception("database is locked"))


def test_a_failing_job_whose_alert_cannot_be_written_is_still_recorded(
    runtime, store, monkeypatch, caplog
):
    """The job fails, and writing its alert fails too (the database was busy for longer
    than its timeout): run_job used to raise, so APScheduler logged a traceback and the
    run stayed 'running' in `watcher status` until the next restart."""

    def broken(rt):  # noqa: ANN001, ANN202
        raise RuntimeError("stage broken")

    runtime.jobs["draft"] = broken
    install(runtime)
    monkeypatch.setattr(store_jobs, "raise_alert", _store_down)
    with caplog.at_level(logging.INFO):
        assert run_job("draft") == "failed"
    [run] = job_history(store, "draft")
    assert run["outcome"] == "failed" and "stage broken" in run["detail"]
    events = [getattr(r, "event", "") for r in caplog.records]
    assert "alert_failed" in events and events.count("job_done") == 1


def test_a_job_whose_start_cannot_be_recorded_still_runs(runtime, recorder, monkeypatch, caplog):
    """The database busy at the trigger: the send still goes (its next trigger is a week
    away), and the log says its run could not be recorded, instead of a traceback."""
    install(runtime)
    monkeypatch.setattr(store_jobs, "start_job_run", _store_down)
    with caplog.at_level(logging.INFO):
        assert run_job("send") == "ok"
    assert recorder.names() == ["send"]
    failed = [r for r in caplog.records if getattr(r, "event", "") == "job_record_failed"]
    assert len(failed) == 1 and failed[0].fields["error"].endswith("database is locked")
