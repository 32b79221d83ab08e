"""Monday's send: curated if published, else the automatic selection or nothing + alert."""

from __future__ import annotations

import types
from dataclasses import dataclass, field

import pytest
import time_machine

from watcher.schedule import jobs
from watcher.schedule.runtime import install, run_job
from watcher.store import jobs as store_jobs

from .conftest import PARIS, make_settings, paris


@dataclass
class FakeReport:
    sent: list = field(default_factory=list)
    failed: dict = field(default_factory=dict)
    gave_up: list = field(default_factory=list)
    already_sent: list = field(default_factory=list)
    uncertain: list = field(default_factory=list)


@pytest.fixture
def stages(monkeypatch, runtime, recorder):  # noqa: ANN001, ANN201
    """Fake publish and deliver stages that record what the send job asked of them."""
    state = types.SimpleNamespace(published=set(), calls=[], report=FakeReport(sent=["a", "b"]))

    def is_published(store, week):  # noqa: ANN001, ANN202
        return week in state.published

    def publish(store, week, user, settings=None):  # noqa: ANN001, ANN202
        state.calls.append(("publish", week, user))
        state.published.add(week)
        return 1

    def send_week(store, week, settings, **kwargs):  # noqa: ANN001, ANN202, ANN003
        state.calls.append(("send_week", week))
        return state.report

    monkeypatch.setattr("watcher.store.bulletins.is_published", is_published)
    monkeypatch.setattr("watcher.publish.bulletin.publish_bulletin", publish)
    deliver = types.ModuleType("watcher.deliver")
    deliver.send_week = send_week
    monkeypatch.setitem(__import__("sys").modules, "watcher.deliver", deliver)
    runtime.jobs["send"] = jobs.send
    install(runtime)
    return state


MONDAY = paris(2026, 11, 30, 8, 0)  # sends 2026-W48


def test_a_week_the_team_published_is_sent_as_it_is(stages, runtime, recorder):
    stages.published.add("2026-W48")
    with time_machine.travel(MONDAY, tick=False):
        assert run_job("send") == "ok"
    assert stages.calls == [("send_week", "2026-W48")]
    assert recorder.names() == ["site"]  # the archive is rebuilt after the publication


def test_an_uncurated_week_goes_out_as_the_automatic_selection(stages, runtime, recorder):
    with time_machine.travel(MONDAY, tick=False):
        assert run_job("send") == "ok"
    assert stages.calls == [("publish", "2026-W48", "watcher-schedule"), ("send_week", "2026-W48")]
    assert "2 sent" in store_jobs.last_job_runs(runtime.store)["send"]["detail"]


def test_an_uncurated_week_can_be_skipped_with_an_alert(stages, runtime, recorder, tmp_path):
    runtime.settings = make_settings(tmp_path, uncurated_week="skip")
    with time_machine.travel(MONDAY, tick=False):
        assert run_job("send") == "skipped"
    assert stages.calls == [] and recorder.names() == []
    alerts = store_jobs.open_alerts(runtime.store)
    assert [(a["kind"], a["subject"]) for a in alerts] == [("unpublished_week", "2026-W48")]


def test_a_send_with_failures_is_an_alert(stages, runtime):
    stages.published.add("2026-W48")
    stages.report = FakeReport(sent=["a"], failed={"b@example.org": "550 no such user"})
    with time_machine.travel(MONDAY, tick=False):
        assert run_job("send") == "failed"
    alerts = store_jobs.open_alerts(runtime.store)
    assert {a["kind"] for a in alerts} == {"send_failures"}
    assert "550 no such user" in alerts[0]["detail"]
    # A later successful retry of the same week closes it.
    stages.report = FakeReport(already_sent=["a"], sent=["b"])
    with time_machine.travel(MONDAY, tick=False):
        assert run_job("send") == "ok"
    assert store_jobs.open_alerts(runtime.store) == []


def test_an_uncertain_message_is_an_alert_until_the_week_is_mended(stages, runtime):
    """An uncertain message is never resent on its own: the team must hear of it, and
    the alert closes once `watcher send --retry-uncertain` has settled the row."""
    from watcher.store import delivery as store_delivery

    reader = store_delivery.insert_subscriber(runtime.store, email="eau@example.org")
    row = store_delivery.begin_attempt(
        runtime.store, week="2026-W48", edition=1, subscriber_id=reader,
        email="eau@example.org", items=2,
    )  # fmt: skip
    store_delivery.finish_attempt(runtime.store, row["id"], status="uncertain", error="after DATA")
    stages.published.add("2026-W48")
    stages.report = FakeReport(sent=["a"], uncertain=["eau@example.org"])
    with time_machine.travel(MONDAY, tick=False):
        assert run_job("send") == "failed"  # as `watcher send` exits 1
    assert "1 uncertain" in store_jobs.last_job_runs(runtime.store)["send"]["detail"]
    alerts = store_jobs.open_alerts(runtime.store)
    assert [(a["kind"], a["subject"]) for a in alerts] == [("send_uncertain", "2026-W48")]
    assert "eau@example.org" in alerts[0]["detail"] and "--retry-uncertain" in alerts[0]["detail"]

    runtime.jobs["health"] = jobs.health
    install(runtime)
    with time_machine.travel(MONDAY, tick=False):
        run_job("health")
    assert [a["kind"] for a in store_jobs.open_alerts(runtime.store)] == ["send_uncertain"]
    store_delivery.finish_attempt(runtime.store, row["id"], status="sent")  # the retry
    with time_machine.travel(MONDAY, tick=False):
        run_job("health")
    assert store_jobs.open_alerts(runtime.store) == []


def test_weeks_of_draft_and_send(runtime):
    with time_machine.travel(paris(2027, 1, 4, 8, 0), tick=False):  # Monday of 2027-W01
        assert jobs.send_week_of(runtime) == "2026-W53"
    with time_machine.travel(paris(2026, 12, 31, 14, 0), tick=False):  # Thursday
        assert jobs.draft_week(runtime) == "2026-W53"


def test_the_curators_reminder_names_the_send_day_of_the_settings(runtime, monkeypatch):
    """It said « Envoi automatique lundi » whatever schedule.send_day was."""
    mails = []
    monkeypatch.setattr("watcher.publish.bulletin.write_bulletin", lambda *a, **k: [])
    monkeypatch.setattr("watcher.publish.bulletin.candidates", lambda *a, **k: [1, 2])
    monkeypatch.setattr(
        "watcher.schedule.mail.send_team_mail",
        lambda settings, to, subject, text: mails.append(text),
    )
    runtime.settings = runtime.settings.model_copy(
        update={
            "schedule": runtime.settings.schedule.model_copy(
                update={"send_day": "tue", "send_time": "07:30"}
            )
        }
    )
    with time_machine.travel(paris(2026, 12, 31, 14, 0), tick=False):
        assert jobs.draft(runtime).outcome == "ok"
    [text] = mails
    assert "semaine 53 (du 28 décembre 2026 au 3 janvier 2027)" in text
    assert "Envoi automatique mardi à 07:30 ;" in text and "lundi" not in text


def test_a_sunday_send_caught_up_on_monday_sends_the_week_that_was_due(runtime):
    runtime.settings = runtime.settings.model_copy(
        update={"schedule": runtime.settings.schedule.model_copy(update={"send_day": "sun"})}
    )
    with time_machine.travel(paris(2026, 12, 6, 8, 0), tick=False):  # Sunday of 2026-W49
        due = jobs.send_week_of(runtime)
    with time_machine.travel(paris(2026, 12, 7, 9, 0), tick=False):  # caught up on Monday
        assert jobs.send_week_of(runtime) == due == "2026-W48"
    with time_machine.travel(paris(2026, 12, 13, 8, 0), tick=False):  # the next Sunday
        assert jobs.send_week_of(runtime) == "2026-W49"


def test_a_send_stopped_by_the_scheduler_is_interrupted_not_ok(stages, runtime, recorder):
    """The job hands the scheduler's stop to the send and says it was cut short: the
    next start resumes it (scheduler.start)."""
    seen = {}

    def send_week(store, week, settings, **kwargs):  # noqa: ANN001, ANN202, ANN003
        seen.update(kwargs)
        return types.SimpleNamespace(
            sent=["a"], failed={}, gave_up=[], already_sent=[], not_reached=["b", "c"]
        )

    __import__("sys").modules["watcher.deliver"].send_week = send_week
    stages.published.add("2026-W48")
    with time_machine.travel(MONDAY, tick=False):
        assert run_job("send") == "interrupted"
    assert seen["stop"] is runtime.stopping
    run = store_jobs.last_job_runs(runtime.store)["send"]
    assert run["outcome"] == "interrupted" and "stopped before 2 reader(s)" in run["detail"]


def _sent_by_hand(store, week: str, reader: int) -> None:  # noqa: ANN001
    """What `watcher send --week` leaves in the delivery log."""
    from watcher.store import delivery as store_delivery

    row = store_delivery.begin_attempt(
        store, week=week, edition=1, subscriber_id=reader, email="eau@example.org", items=2
    )
    store_delivery.finish_attempt(store, row["id"], status="sent")


def _unsent(store) -> dict[str, str]:  # noqa: ANN001
    return {
        a["subject"]: a["detail"]
        for a in store_jobs.open_alerts(store)
        if a["kind"] == "week_unsent"
    }


def test_a_send_week_coalesced_away_is_an_alert_until_sent(stages, runtime, start_manual):
    """Off from Tuesday 24 November to Tuesday 8 December: the sends of 30 November
    (2026-W48) and 7 December (2026-W49) were folded into one, W49's; W48's bulletin
    was dropped without a missed-run event, so without a word to the team."""
    from watcher.schedule.alerts import compose_digest
    from watcher.store import delivery as store_delivery
    from watcher.store.jobs import undigested_alerts

    with time_machine.travel(paris(2026, 11, 1, 12, 0), tick=False):
        reader = store_delivery.insert_subscriber(runtime.store, email="eau@example.org")
    stages.published.add("2026-W47")
    scheduler, clock = start_manual(paris(2026, 11, 23, 7, 0))
    clock.at(paris(2026, 11, 23, 8, 0))
    scheduler.shutdown(wait=False)

    scheduler2, clock2 = start_manual(paris(2026, 12, 8, 10, 0))
    # Told at start, before the catch-up runs.
    assert _unsent(runtime.store) == {
        "2026-W48": "le bulletin 2026-W48 n'est pas parti : le planificateur ne tournait pas "
        "à l'heure de son envoi (le 30/11/2026 à 08:00) et ne rattrape que le plus récent ; "
        "pour l'envoyer quand même : watcher bulletin publish --week 2026-W48 puis "
        "watcher send --week 2026-W48"
    }
    clock2.at(paris(2026, 12, 8, 10, 0))
    # The readers get the latest week only, not two bulletins at once; W48 stays reported.
    assert [c for c in stages.calls if c[0] == "send_week"] == [
        ("send_week", "2026-W47"),
        ("send_week", "2026-W49"),
    ]
    assert list(_unsent(runtime.store)) == ["2026-W48"]
    subject, body = compose_digest(undigested_alerts(runtime.store), PARIS)
    assert "bulletins jamais envoyés (1)" in subject
    assert "== Bulletins jamais envoyés (1) ==" in body and "watcher send --week 2026-W48" in body

    # The team sends it by hand: the nightly check closes the alert; the send does too.
    _sent_by_hand(runtime.store, "2026-W48", reader)
    with time_machine.travel(paris(2026, 12, 9, 3, 30), tick=False):
        assert jobs.check_unsent_weeks(runtime) == []
    assert _unsent(runtime.store) == {}


def test_only_weeks_owed_by_a_scheduler_that_was_not_running_are_reported(
    stages, runtime, tmp_path
):
    from watcher.store import delivery as store_delivery

    def check(at):  # noqa: ANN001, ANN202
        with time_machine.travel(at, tick=False):
            return jobs.check_unsent_weeks(runtime)

    late_monday = paris(2026, 12, 14, 8, 0)  # sends 2026-W50
    with time_machine.travel(paris(2026, 11, 24, 12, 0), tick=False):
        reader = store_delivery.insert_subscriber(runtime.store, email="eau@example.org")
    stages.published.update({"2026-W45", "2026-W46", "2026-W47", "2026-W48"})
    # A fresh install: weeks published before it ever sent are none of its business.
    assert check(late_monday) == []
    with time_machine.travel(paris(2026, 11, 9, 8, 0), tick=False):  # sends W45
        assert run_job("send") == "ok"
    # W46 (16/11) and W47 (23/11) were due before anyone had subscribed; W48 was sent by
    # hand meanwhile; W49 (7/12) is owed; W50 is the week sent now.
    _sent_by_hand(runtime.store, "2026-W48", reader)
    assert check(late_monday) == ["2026-W49"]
    # Not published (uncurated_week = automatic would have): publish it, then send it.
    assert "watcher bulletin publish --week 2026-W49 puis" in _unsent(runtime.store)["2026-W49"]
    # With uncurated_week = skip an unpublished week would not have gone out at all.
    runtime.settings = make_settings(tmp_path, uncurated_week="skip")
    store_jobs.resolve_alerts(runtime.store, "week_unsent")
    assert check(late_monday) == []
    stages.published.add("2026-W49")
    assert check(late_monday) == ["2026-W49"]
    assert _unsent(runtime.store)["2026-W49"].endswith(": watcher send --week 2026-W49")
    # Eight weeks after its send time a bulletin is stale: its alert closes by itself.
    assert check(paris(2027, 2, 1, 8, 0)) == ["2026-W49"]
    assert check(paris(2027, 2, 1, 9, 0)) == []


def _reader(store) -> int:  # noqa: ANN001
    from watcher.store import delivery as store_delivery

    with time_machine.travel(paris(2026, 11, 1, 12, 0), tick=False):
        return store_delivery.insert_subscriber(store, email="eau@example.org")


@pytest.mark.parametrize("how", ["raised", "nobody reached"])
def test_a_week_whose_send_failed_outright_stays_reported_until_sent(how, stages, runtime):
    """SMTP down all Monday, or the job raised: « Tâches en échec » closed with the next
    week's send, and the failed week was never reported nor sent."""
    reader = _reader(runtime.store)
    stages.published.update({"2026-W47", "2026-W48", "2026-W49"})
    with time_machine.travel(paris(2026, 11, 23, 8, 0), tick=False):
        assert run_job("send") == "ok"  # W47: the scheduler was in charge

    def down(store, week, settings, **kwargs):  # noqa: ANN001, ANN202, ANN003
        stages.calls.append(("send_week", week))
        if how == "raised":
            raise ConnectionRefusedError("SMTP injoignable")
        return FakeReport(failed={"eau@example.org": "TransientError: refused"})

    deliver = __import__("sys").modules["watcher.deliver"]
    deliver.send_week, working = down, deliver.send_week
    with time_machine.travel(MONDAY, tick=False):
        assert run_job("send") == "failed"
    # The night's check already names the week and the command.
    with time_machine.travel(paris(2026, 12, 1, 3, 30), tick=False):
        assert jobs.check_unsent_weeks(runtime) == ["2026-W48"]
    assert _unsent(runtime.store)["2026-W48"] == (
        "le bulletin 2026-W48 n'est pas parti : son envoi du 30/11/2026 à 08:00 a échoué "
        "(voir le journal) et n'a pas été refait ; pour l'envoyer quand même : "
        "watcher send --week 2026-W48"
    )
    deliver.send_week = working
    with time_machine.travel(paris(2026, 12, 7, 8, 0), tick=False):
        assert run_job("send") == "ok"  # W49 goes out, W48 not with it
    assert [c[1] for c in stages.calls if c[0] == "send_week"] == [
        "2026-W47",
        "2026-W48",
        "2026-W49",
    ]
    assert not [a for a in store_jobs.open_alerts(runtime.store) if a["kind"] == "job_failed"]
    assert list(_unsent(runtime.store)) == ["2026-W48"]
    with time_machine.travel(paris(2026, 12, 8, 3, 30), tick=False):
        assert jobs.check_unsent_weeks(runtime) == ["2026-W48"]
    # Sent by hand: closed.
    _sent_by_hand(runtime.store, "2026-W48", reader)
    with time_machine.travel(paris(2026, 12, 9, 3, 30), tick=False):
        assert jobs.check_unsent_weeks(runtime) == []


def test_a_week_whose_messages_all_failed_is_not_sent_by_the_failed_rows(stages, runtime):
    """Failed delivery rows (SMTP down for every reader) are not a week sent."""
    from watcher.store import delivery as store_delivery

    reader = _reader(runtime.store)
    stages.published.update({"2026-W47", "2026-W48"})
    with time_machine.travel(paris(2026, 11, 23, 8, 0), tick=False):
        run_job("send")
    with time_machine.travel(MONDAY, tick=False):
        row = store_delivery.begin_attempt(
            runtime.store,
            week="2026-W48",
            edition=1,
            subscriber_id=reader,
            email="eau@example.org",
            items=2,
        )
        store_delivery.finish_attempt(runtime.store, row["id"], status="failed", error="refused")
        stages.report = FakeReport(failed={"eau@example.org": "refused"})
        assert run_job("send") == "failed"
    with time_machine.travel(paris(2026, 12, 1, 3, 30), tick=False):
        assert jobs.check_unsent_weeks(runtime) == ["2026-W48"]


def test_the_week_a_send_owes_changes_at_the_send_time_not_at_midnight(runtime):
    with time_machine.travel(paris(2026, 11, 30, 7, 59), tick=False):
        assert jobs.send_week_of(runtime) == "2026-W47"
    with time_machine.travel(MONDAY, tick=False):
        assert jobs.send_week_of(runtime) == "2026-W48"


def test_an_early_catch_up_sends_nothing_early_and_reports_the_week_it_caught_up(
    stages, runtime, start_manual, tmp_path
):
    """Send grace of a week; off from Saturday 21 November to Monday 30 at 07:00: the
    23 November send (2026-W47) was caught up at 07:00 and sent 2026-W48, the week that
    had just ended, an hour before the curators' deadline; W47 was never sent."""
    runtime.settings = make_settings(tmp_path, send_misfire_grace_s=7 * 86400)
    _reader(runtime.store)
    stages.published.update({"2026-W46", "2026-W47"})
    scheduler, clock = start_manual(paris(2026, 11, 16, 7, 0))
    clock.at(paris(2026, 11, 16, 8, 0))  # sends W46
    scheduler.shutdown(wait=False)

    scheduler2, clock2 = start_manual(paris(2026, 11, 30, 7, 0))
    clock2.at(paris(2026, 11, 30, 7, 0))
    assert [c for c in stages.calls if c[0] != "send_week" or c[1] != "2026-W46"] == []
    assert "watcher send --week 2026-W47" in _unsent(runtime.store)["2026-W47"]
    assert store_jobs.last_job_runs(runtime.store)["send"]["outcome"] == "skipped"
    stages.published.add("2026-W48")  # the curators publish before 08:00
    clock2.at(paris(2026, 11, 30, 8, 0))
    assert [c for c in stages.calls if c[0] == "send_week"] == [
        ("send_week", "2026-W46"),
        ("send_week", "2026-W48"),
    ]
    assert ("publish", "2026-W48", jobs.SCHEDULE_USER) not in stages.calls
    assert list(_unsent(runtime.store)) == ["2026-W47"]


def test_a_catch_up_well_before_the_next_send_still_sends_the_week_it_owes(
    stages, runtime, start_manual, tmp_path
):
    runtime.settings = make_settings(tmp_path, send_misfire_grace_s=7 * 86400)
    _reader(runtime.store)
    stages.published.update({"2026-W46", "2026-W47"})
    scheduler, clock = start_manual(paris(2026, 11, 16, 7, 0))
    clock.at(paris(2026, 11, 16, 8, 0))
    scheduler.shutdown(wait=False)
    scheduler2, clock2 = start_manual(paris(2026, 11, 26, 9, 0))  # Thursday, 3 days late
    clock2.at(paris(2026, 11, 26, 9, 0))
    assert [c[1] for c in stages.calls if c[0] == "send_week"] == ["2026-W46", "2026-W47"]
    assert _unsent(runtime.store) == {}
