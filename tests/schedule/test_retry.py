"""The failed messages of the week last sent are retried by the nightly check: real
send, real SMTP server (aiosmtpd), the clock moved by time-machine."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
import time_machine

from tests.desk.builder import WEEK, build_store
from watcher.deliver import add_subscriber, send_week
from watcher.publish.bulletin import publish_bulletin
from watcher.schedule import jobs
from watcher.schedule.runtime import install, run_job
from watcher.settings import Settings
from watcher.store import jobs as store_jobs

from .conftest import make_settings, paris

MONDAY = paris(2026, 11, 30, 8, 0)  # sends 2026-W48
TUESDAY_NIGHT = paris(2026, 12, 1, 3, 30)
WEDNESDAY_NIGHT = paris(2026, 12, 2, 3, 30)
READERS = ("eau@example.org", "energie@example.org", "tout@example.org")


@pytest.fixture
def week(store, smtp, runtime, tmp_path):  # noqa: ANN001, ANN201
    """WEEK published, three readers, the real send, health and retry jobs."""
    inbox, port = smtp
    build_store(store)
    themes = {"eau@example.org": ["eau"], "energie@example.org": ["energie"]}
    for email in READERS:
        add_subscriber(
            store,
            email,
            themes=themes.get(email, []),
            created_at=datetime(2026, 11, 20, tzinfo=UTC),
        )
    publish_bulletin(store, WEEK, "marie", Settings())
    runtime.settings = make_settings(tmp_path, smtp_port=port, health_check_time="03:30")
    runtime.jobs.update(send=jobs.send, health=jobs.health, retry=jobs.retry)
    install(runtime)
    return inbox


def _got(inbox, email: str) -> int:  # noqa: ANN001
    return len(inbox.by_recipient().get(email, []))


def _open(runtime) -> set[tuple[str, str]]:  # noqa: ANN001
    return {(a["kind"], a["subject"]) for a in store_jobs.open_alerts(runtime.store)}


def _retry_run(runtime):  # noqa: ANN001, ANN202
    return store_jobs.last_job_runs(runtime.store).get("retry")


def test_a_reader_whose_mailbox_was_full_gets_the_week_at_the_nightly_retry_once(week, runtime):
    week.at_rcpt = {"eau@example.org": "451"}
    with time_machine.travel(MONDAY, tick=False):
        assert run_job("send") == "failed"
    assert _got(week, "eau@example.org") == 0
    assert ("send_failures", WEEK) in _open(runtime)
    week.at_rcpt = {}  # the reader made room
    with time_machine.travel(TUESDAY_NIGHT, tick=False):
        run_job("health")
    retried = _retry_run(runtime)
    assert retried["outcome"] == "ok" and retried["trigger"] == "after-health"
    assert retried["detail"].startswith(f"{WEEK}: 1 sent, 0 failed again")
    assert [_got(week, r) for r in READERS] == [1, 1, 1]
    assert ("send_failures", WEEK) not in _open(runtime)
    # Nothing left to retry: the next nights do not run it, nobody gets it twice.
    with time_machine.travel(WEDNESDAY_NIGHT, tick=False):
        run_job("health")
    assert _retry_run(runtime)["started_at"] == retried["started_at"]
    assert [_got(week, r) for r in READERS] == [1, 1, 1]


def test_retries_stop_at_max_attempts(week, runtime, tmp_path):
    runtime.settings = runtime.settings.model_copy(
        update={"delivery": runtime.settings.delivery.model_copy(update={"max_attempts": 2})}
    )
    week.at_rcpt = {"eau@example.org": "451"}  # full all week
    with time_machine.travel(MONDAY, tick=False):
        run_job("send")
    with time_machine.travel(TUESDAY_NIGHT, tick=False):
        run_job("health")
    first = _retry_run(runtime)
    assert first["outcome"] == "failed" and "1 failed again" in first["detail"]
    with time_machine.travel(WEDNESDAY_NIGHT, tick=False):
        run_job("health")
    assert _retry_run(runtime)["started_at"] == first["started_at"]  # given up
    assert ("send_failures", WEEK) in _open(runtime)


def test_a_permanent_refusal_is_not_retried_automatically(week, runtime):
    """A 550 unknown mailbox will not heal: left to the team, who can still send it
    by hand (`watcher send --week`) once the address is mended."""
    week.refuse = {"tout@example.org"}
    week.at_rcpt = {"eau@example.org": "451"}
    with time_machine.travel(MONDAY, tick=False):
        run_job("send")
    week.refuse, week.at_rcpt = set(), {}
    with time_machine.travel(TUESDAY_NIGHT, tick=False):
        run_job("health")
    detail = _retry_run(runtime)["detail"]
    assert "1 sent" in detail and "1 refused for good" in detail
    assert [_got(week, r) for r in READERS] == [1, 1, 0]
    assert ("send_failures", WEEK) in _open(runtime)  # someone must look
    with time_machine.travel(WEDNESDAY_NIGHT, tick=False):
        assert not jobs.retry_due(runtime)
        assert run_job("retry") == "skipped"
    assert _got(week, "tout@example.org") == 0
    with time_machine.travel(WEDNESDAY_NIGHT, tick=False):
        report = send_week(runtime.store, WEEK, runtime.settings)  # by hand
        run_job("health")
    assert report.sent == ["tout@example.org"] and _got(week, "tout@example.org") == 1
    assert ("send_failures", WEEK) not in _open(runtime)


def test_nothing_is_retried_close_to_or_after_the_next_send(week, runtime):
    week.at_rcpt = {"eau@example.org": "451"}
    with time_machine.travel(MONDAY, tick=False):
        run_job("send")
    week.at_rcpt = {}
    # Monday night, a few hours before the next send: two bulletins within hours.
    with time_machine.travel(paris(2026, 12, 7, 3, 30), tick=False):
        assert not jobs.retry_due(runtime)
        assert run_job("retry") == "skipped"
        assert "too close to the next send" in _retry_run(runtime)["detail"]
    # After the next send time the week last sent is the next one: W48 is left alone.
    with time_machine.travel(paris(2026, 12, 8, 3, 30), tick=False):
        assert not jobs.retry_due(runtime)
        assert run_job("retry") == "skipped"
    assert _got(week, "eau@example.org") == 0


def test_an_uncertain_message_is_not_resent_by_the_retry(week, runtime):
    week.after_data = {"eau@example.org": "drop"}  # stored, then no reply: uncertain
    week.at_rcpt = {"energie@example.org": "451"}
    with time_machine.travel(MONDAY, tick=False):
        run_job("send")
    assert _got(week, "eau@example.org") == 1
    week.after_data, week.at_rcpt = {}, {}
    with time_machine.travel(TUESDAY_NIGHT, tick=False):
        run_job("health")
    assert "1 uncertain (not resent)" in _retry_run(runtime)["detail"]
    assert [_got(week, r) for r in READERS] == [1, 1, 1]
    assert ("send_uncertain", WEEK) in _open(runtime)
    # Only uncertain ones left: no retry at all.
    with time_machine.travel(WEDNESDAY_NIGHT, tick=False):
        assert not jobs.retry_due(runtime)


def test_a_retry_check_that_fails_leaves_the_nightly_check_and_digest_going(
    week, runtime, monkeypatch
):
    """The retry's question raising (the store busy, the deliver stage broken) must not
    end the health job before its other checks and the team's digest."""
    week.at_rcpt = {"eau@example.org": "451"}
    with time_machine.travel(MONDAY, tick=False):
        assert run_job("send") == "failed"

    def broken(rt):  # noqa: ANN001, ANN202
        raise RuntimeError("database is locked")

    monkeypatch.setattr(jobs, "retry_due", broken)
    with time_machine.travel(TUESDAY_NIGHT, tick=False):
        run_job("health")
    health = store_jobs.last_job_runs(runtime.store)["health"]
    assert "RuntimeError" not in health["detail"]
    assert "digest: " in health["detail"]  # it went on to the digest
    assert ("job_failed", "health") not in _open(runtime)
    assert _retry_run(runtime) is None
