"""The right jobs at the right Paris times, across DST changes, restarts and missed runs."""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta

import pytest
import time_machine

from watcher.exceptions import ConfigError
from watcher.schedule.scheduler import job_definitions
from watcher.store.jobs import job_history

from .conftest import PARIS, make_settings, paris


def _fires(trigger, start: datetime, count: int) -> list[datetime]:  # noqa: ANN001
    out, previous, now = [], None, start
    for _ in range(count):
        nxt = trigger.get_next_fire_time(previous, now)
        out.append(nxt)
        previous, now = nxt, nxt
    return out


def _triggers(tmp_path):  # noqa: ANN001, ANN202
    return {d.id: d.trigger for d in job_definitions(make_settings(tmp_path).schedule)}


def test_send_and_draft_keep_paris_wall_time_across_spring_dst(tmp_path):
    triggers = _triggers(tmp_path)
    sends = _fires(triggers["send"], paris(2026, 3, 20, 12, 0), 2)
    # Monday 23 March 08:00 CET, then Monday 30 March 08:00 CEST (clocks moved on the 29th).
    assert [s.astimezone(UTC) for s in sends] == [
        datetime(2026, 3, 23, 7, 0, tzinfo=UTC),
        datetime(2026, 3, 30, 6, 0, tzinfo=UTC),
    ]
    drafts = _fires(triggers["draft"], paris(2026, 3, 20, 12, 0), 2)
    assert [d.astimezone(UTC) for d in drafts] == [
        datetime(2026, 3, 26, 13, 0, tzinfo=UTC),
        datetime(2026, 4, 2, 12, 0, tzinfo=UTC),
    ]


def test_nightly_jobs_once_a_night_across_autumn_dst(tmp_path):
    triggers = _triggers(tmp_path)
    health = _fires(triggers["health"], paris(2026, 10, 23, 12, 0), 4)
    # 03:30 local each night; the night of 25 October (03:00 CEST → 02:00 CET) included once.
    assert [h.astimezone(PARIS).strftime("%d %H:%M") for h in health] == [
        "24 03:30",
        "25 03:30",
        "26 03:30",
        "27 03:30",
    ]
    assert health[1].astimezone(UTC).hour == 2 and health[0].astimezone(UTC).hour == 1
    sends = _fires(triggers["send"], paris(2026, 10, 20, 12, 0), 1)
    assert sends[0].astimezone(UTC) == datetime(2026, 10, 26, 7, 0, tzinfo=UTC)


def test_a_job_set_in_the_repeated_autumn_hour_runs_once(start_manual, recorder, runtime, tmp_path):
    """02:30 happens twice on the last Sunday of October: the Sunday draft and the nightly
    check set at 02:30 ran at both, the curators' reminder mailed twice."""
    runtime.settings = make_settings(
        tmp_path, draft_day="sun", draft_time="02:30", health_check_time="02:30"
    )
    scheduler, clock = start_manual(paris(2026, 10, 24, 12, 0))
    clock.run(paris(2026, 10, 24, 12, 0), paris(2026, 10, 27, 12, 0), step_min=10)
    assert [d.astimezone(UTC) for d in recorder.of("draft")] == [
        datetime(2026, 10, 25, 0, 30, tzinfo=UTC)  # 02:30 CEST, the first of the two
    ]
    nights = [n.astimezone(UTC).strftime("%d %H:%M") for n in recorder.of("health")]
    assert nights == ["25 00:30", "26 01:30", "27 01:30"]


def test_a_job_set_in_the_skipped_spring_hour_runs_once_an_hour_later(tmp_path):
    triggers = {
        d.id: d.trigger
        for d in job_definitions(make_settings(tmp_path, health_check_time="02:30").schedule)
    }
    nights = _fires(triggers["health"], paris(2026, 3, 27, 12, 0), 3)
    assert [n.astimezone(UTC).strftime("%d %H:%M") for n in nights] == [
        "28 01:30",
        "29 01:30",  # 03:30 CEST: 02:30 did not exist that night
        "30 00:30",
    ]


def test_a_job_stored_by_an_older_version_keeps_its_due_run(start_manual, recorder, runtime):
    """The jobs stored with APScheduler's plain CronTrigger take the new trigger in place:
    replacing them would drop a send still due after downtime."""
    from apscheduler.triggers.cron import CronTrigger

    from watcher.schedule.scheduler import WallClockTrigger

    scheduler, _ = start_manual(paris(2026, 11, 28, 12, 0))
    old = scheduler.get_job("send").trigger
    plain = CronTrigger(day_of_week="mon", hour=8, minute=0, timezone=old.timezone)
    scheduler.modify_job("send", trigger=plain)
    assert type(scheduler.get_job("send").trigger) is CronTrigger
    scheduler.shutdown(wait=False)

    scheduler2, clock2 = start_manual(paris(2026, 11, 30, 20, 0))  # upgraded, back Monday night
    assert type(scheduler2.get_job("send").trigger) is WallClockTrigger
    clock2.at(paris(2026, 11, 30, 20, 0))
    assert [s.strftime("%d %H:%M") for s in recorder.of("send")] == ["30 20:00"]
    assert scheduler2.get_job("send").next_run_time == paris(2026, 12, 7, 8, 0)


def test_a_driven_week_runs_each_job_at_its_paris_time(start_manual, recorder, store):
    # Saturday 21 March to Tuesday 31 March 2026: the spring DST change is inside.
    scheduler, clock = start_manual(paris(2026, 3, 21, 12, 0))
    clock.run(paris(2026, 3, 21, 12, 0), paris(2026, 3, 31, 9, 0), step_min=60)

    sends = recorder.of("send")
    assert [s.strftime("%a %d %H:%M %Z") for s in sends] == [
        "Mon 23 08:00 CET",
        "Mon 30 08:00 CEST",
    ]
    assert [d.strftime("%a %d %H:%M") for d in recorder.of("draft")] == ["Thu 26 14:00"]
    nights = recorder.of("health")
    assert [n.strftime("%d %H:%M") for n in nights] == [f"{d} 03:30" for d in range(22, 32)]
    assert len(recorder.of("retention")) == 10
    # The first tick at start, then one every 15 minutes (visited hourly: coalesced, once).
    collects = recorder.of("collect")
    assert collects[0] == paris(2026, 3, 21, 12, 0)
    assert all(b > a for a, b in zip(collects, collects[1:], strict=False))
    # Every run went through run_job and was recorded.
    assert len(job_history(store, "send")) == 2
    assert {r["outcome"] for r in job_history(store, limit=1000)} == {"ok"}


def test_restart_mid_week_resumes_from_the_job_store(start_manual, recorder, runtime):
    scheduler, clock = start_manual(paris(2026, 11, 24, 10, 0))  # a Tuesday
    send_next = scheduler.get_job("send").next_run_time
    draft_next = scheduler.get_job("draft").next_run_time
    clock.run(paris(2026, 11, 24, 10, 0), paris(2026, 11, 25, 9, 0))
    scheduler.shutdown(wait=False)

    # A restart on Wednesday: the stored jobs are kept as they were, not re-created.
    scheduler2, clock2 = start_manual(paris(2026, 11, 25, 16, 0))
    assert scheduler2.get_job("send").next_run_time == send_next
    assert scheduler2.get_job("draft").next_run_time == draft_next
    assert scheduler2.get_job("collect").trigger.start_date < paris(2026, 11, 25, 0, 0)
    clock2.run(paris(2026, 11, 25, 16, 0), paris(2026, 11, 30, 9, 0), step_min=60)
    assert [d.strftime("%a %H:%M") for d in recorder.of("draft")] == ["Thu 14:00"]
    assert [s.strftime("%a %d %H:%M") for s in recorder.of("send")] == ["Mon 30 08:00"]


def test_missed_monday_send_runs_once_at_start_not_twice(start_manual, recorder):
    scheduler, clock = start_manual(paris(2026, 11, 21, 12, 0))  # a Saturday
    clock.at(paris(2026, 11, 21, 12, 0))
    scheduler.shutdown(wait=False)
    assert recorder.of("send") == []

    # The machine was off for ten days: two Mondays (23 and 30 November) were missed.
    scheduler2, clock2 = start_manual(paris(2026, 12, 1, 10, 0))
    clock2.at(paris(2026, 12, 1, 10, 0))
    clock2.run(paris(2026, 12, 1, 10, 15), paris(2026, 12, 2, 10, 0), step_min=60)
    assert [s.strftime("%d %H:%M") for s in recorder.of("send")] == ["01 10:00"]
    # The night's health check was missed by 6 h 30, past its 6 h grace: not run late,
    # only logged; it resumed at its own time the next night.
    nights = recorder.of("health")
    assert [n.strftime("%d %H:%M") for n in nights] == ["02 03:30"]
    assert len(recorder.of("collect")) >= 2
    assert scheduler2.get_job("send").next_run_time == paris(2026, 12, 7, 8, 0)


def test_a_send_missed_beyond_its_grace_is_logged_not_run(start_manual, recorder, caplog):
    scheduler, clock = start_manual(paris(2026, 11, 28, 12, 0))
    scheduler.shutdown(wait=False)
    # Back on Thursday: Monday 08:00 is 74 hours late, past the 48 h grace of the send.
    scheduler2, clock2 = start_manual(paris(2026, 12, 3, 10, 0))
    with caplog.at_level("WARNING"):
        clock2.at(paris(2026, 12, 3, 10, 0))
    assert recorder.of("send") == []
    assert any(getattr(r, "event", "") == "job_missed" for r in caplog.records)
    assert scheduler2.get_job("send").next_run_time == paris(2026, 12, 7, 8, 0)


def test_a_missed_send_is_an_alert_naming_the_week_and_the_command(start_manual, runtime):
    """A log line alone: the team never heard that a week's bulletin did not go out."""
    from watcher.schedule.alerts import compose_digest, open_alerts
    from watcher.schedule.runtime import run_job
    from watcher.store.jobs import undigested_alerts

    scheduler, _ = start_manual(paris(2026, 11, 28, 12, 0))
    scheduler.shutdown(wait=False)
    scheduler2, clock2 = start_manual(paris(2026, 12, 3, 10, 0))
    clock2.at(paris(2026, 12, 3, 10, 0))
    missed = {a["subject"]: a["detail"] for a in undigested_alerts(runtime.store)}
    assert missed["send"] == (
        "le bulletin 2026-W48 n'est pas parti (envoi prévu le 30/11/2026 à 08:00) ; "
        "« watcher run send » l'envoie maintenant"
    )
    # The night's health check was missed too (6 h 30 late, past its 6 h grace).
    assert missed["health"].startswith("prévue le 03/12/2026 à 03:30, non lancée")
    subject, body = compose_digest(undigested_alerts(runtime.store), PARIS)
    assert "tâches manquées (2)" in subject and "== Tâches manquées (2) ==" in body
    # Shown by `watcher status` and the desk until the job has run since.
    assert {a["subject"] for a in open_alerts(runtime.store) if a["kind"] == "job_missed"} == {
        "send",
        "health",
    }
    with time_machine.travel(paris(2026, 12, 3, 10, 30), tick=False):
        assert run_job("send", trigger="manual") == "ok"
    assert {a["subject"] for a in open_alerts(runtime.store) if a["kind"] == "job_missed"} == {
        "health"
    }


def test_changed_settings_replace_the_stored_job(start_manual, runtime, tmp_path):
    scheduler, _ = start_manual(paris(2026, 11, 24, 10, 0))
    scheduler.shutdown(wait=False)
    runtime.settings = make_settings(tmp_path, send_day="tue", send_time="07:30")
    scheduler2, _ = start_manual(paris(2026, 11, 24, 11, 0))
    assert scheduler2.get_job("send").next_run_time == paris(2026, 12, 1, 7, 30)
    assert scheduler2.get_job("draft").next_run_time == paris(2026, 11, 26, 14, 0)


def test_a_day_set_in_code_is_checked_too(tmp_path):
    # model_copy skips the settings' validation; "monkey" used to become Monday.
    schedule = make_settings(tmp_path).schedule.model_copy(update={"send_day": "monkey"})
    with pytest.raises(ConfigError, match="schedule.send_day: 'monkey' is not a day of the week"):
        job_definitions(schedule)


def test_interval_between_ticks(tmp_path):
    trigger = _triggers(tmp_path)["collect"]
    start = paris(2026, 3, 29, 1, 0)
    fires = _fires(trigger, start, 8)
    assert all(b - a == timedelta(minutes=15) for a, b in zip(fires, fires[1:], strict=False))


def test_list_shows_the_stored_next_runs(start_manual, runtime):
    from watcher.schedule.scheduler import list_jobs

    before = {row["job"]: row for row in list_jobs(runtime, now=paris(2026, 11, 24, 10, 0))}
    assert {row["state"] for row in before.values()} == {"not started yet"}
    assert before["send"]["next_run"] == paris(2026, 11, 30, 8, 0)

    scheduler, clock = start_manual(paris(2026, 11, 24, 10, 0))
    clock.run(paris(2026, 11, 24, 10, 0), paris(2026, 12, 1, 9, 0), step_min=60)
    scheduler.shutdown(wait=False)
    rows = {row["job"]: row for row in list_jobs(runtime)}
    assert {row["state"] for row in rows.values()} == {"stored"}
    assert rows["send"]["next_run"] == paris(2026, 12, 7, 8, 0)
    assert rows["draft"]["next_run"] == paris(2026, 12, 3, 14, 0)
    assert str(rows["send"]["next_run"].tzinfo) == "Europe/Paris"


class _Died(BaseException):
    """The process dying mid-job (power cut, SIGKILL): nothing records the run's end."""


@pytest.mark.parametrize("how", ["stopped", "died"])
def test_a_send_cut_short_goes_on_once_at_the_next_start(how, start_manual, recorder, runtime):
    """Monday's send stopped (SIGTERM: the job ends between two messages) or died half
    way. Its next run is a week away: the readers it had not reached would never get
    the bulletin. At the next start the send runs again, once."""
    from watcher.schedule.runtime import JobResult

    def cut_short(rt):  # noqa: ANN001, ANN202
        recorder.calls.append(("send", datetime.now(PARIS)))
        if how == "died":
            raise _Died
        return JobResult("interrupted", "2026-W48: 3 sent; stopped before 2 reader(s)")

    runtime.jobs["send"] = cut_short
    scheduler, clock = start_manual(paris(2026, 11, 30, 7, 50))
    with contextlib.suppress(_Died):
        clock.at(paris(2026, 11, 30, 8, 0))
    scheduler.shutdown(wait=False)
    assert len(recorder.of("send")) == 1

    runtime.jobs["send"] = recorder.job("send")
    scheduler2, clock2 = start_manual(paris(2026, 11, 30, 8, 5))
    clock2.run(paris(2026, 11, 30, 8, 5), paris(2026, 12, 1, 9, 0), step_min=60)
    assert [s.strftime("%d %H:%M") for s in recorder.of("send")] == ["30 08:00", "30 08:05"]
    assert job_history(runtime.store, "send")[0]["trigger"] == "resume"
    assert scheduler2.get_job("send").next_run_time == paris(2026, 12, 7, 8, 0)
    scheduler2.shutdown(wait=False)

    # Finished now: a later restart has nothing to resume.
    scheduler3, clock3 = start_manual(paris(2026, 12, 1, 10, 0))
    clock3.run(paris(2026, 12, 1, 10, 0), paris(2026, 12, 1, 12, 0), step_min=60)
    assert len(recorder.of("send")) == 2


def test_a_send_cut_short_long_ago_is_not_resumed(start_manual, recorder, runtime):
    from watcher.schedule.runtime import JobResult

    runtime.jobs["send"] = lambda rt: JobResult("interrupted", "stopped")
    scheduler, clock = start_manual(paris(2026, 11, 30, 7, 50))
    clock.at(paris(2026, 11, 30, 8, 0))
    scheduler.shutdown(wait=False)
    runtime.jobs["send"] = recorder.job("send")
    # Back on Thursday: past the send's 48 h grace, as a missed send would be.
    scheduler2, clock2 = start_manual(paris(2026, 12, 3, 10, 0))
    clock2.run(paris(2026, 12, 3, 10, 0), paris(2026, 12, 3, 12, 0), step_min=60)
    assert recorder.of("send") == []
