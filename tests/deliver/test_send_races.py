"""What other people do while a send runs, or between two sends of one week: a
curator withdraws the bulletin, a reader leaves the list."""

from __future__ import annotations

import threading

import pytest

from tests.desk.builder import WEEK
from tests.shared import wait_for
from watcher.deliver import add_subscriber, send_week
from watcher.deliver.bulletin import PublishedWeek
from watcher.deliver.send import deliver
from watcher.deliver.tokens import delivery_secret
from watcher.desk.curation import withdraw_week
from watcher.exceptions import DeliveryError, PublishError
from watcher.publish.bulletin import publish_bulletin
from watcher.settings import Settings
from watcher.store import Store
from watcher.store.delivery import (
    get_subscriber,
    list_deliveries,
    set_subscriber_status,
    update_subscriber,
)
from watcher.store.labels import set_override

from .conftest import BEFORE, smtp_settings


def _deliver_with(store, settings, on_render):  # noqa: ANN001, ANN202
    """`send_week`, with ``on_render(email)`` called as each subscriber's turn comes."""
    week_mail = PublishedWeek(store, WEEK, settings)
    render_for = week_mail.render_for

    def render(subscriber):  # noqa: ANN001, ANN202
        on_render(subscriber["email"])
        return render_for(subscriber)

    week_mail.render_for = render  # type: ignore[method-assign]
    return deliver(store, week_mail, settings, secret=delivery_secret(store, settings))


def test_a_week_withdrawn_after_a_failed_send_reaches_everyone_once_published_again(
    published, smtp, tmp_path
):
    """Monday the mail server is down (every message failed, and one reader had nothing
    for their themes); the team withdraws the bulletin, adds an item for that reader's
    theme and publishes it again, with the same edition number. Each reader gets it."""
    store, ids = published
    recorder, port = smtp
    down = send_week(store, WEEK, smtp_settings(1, tmp_path))  # nothing listens on port 1
    assert down.sent == [] and down.skipped_empty == ["rien@example.org"]

    withdraw_week(store, WEEK, user="marie")
    set_override(store, ids["chaleur"], {"themes": ["energie", "decarbonation"]}, "marie")
    assert publish_bulletin(store, WEEK, "marie", Settings()) == 1

    report = send_week(store, WEEK, smtp_settings(port, tmp_path))
    assert report.already_sent == [] and report.skipped_empty == []
    got = recorder.by_recipient()
    assert "rien@example.org" in got  # before: taken as done by the withdrawn edition's row
    assert all(len(messages) == 1 for messages in got.values())
    rows = list_deliveries(store, week=WEEK)
    assert [r["attempts"] for r in rows] == [1] * len(rows)  # a fresh start, not attempt 2


def test_an_edition_with_an_uncertain_message_cannot_be_withdrawn(published, smtp, tmp_path):
    """'uncertain': the server may have it. Withdrawing, then sending other content
    under the same edition, would give that reader two versions of one bulletin."""
    store, _ids = published
    recorder, port = smtp
    recorder.refuse = {"energie@example.org", "btp@example.org", "tout@example.org"}
    recorder.after_data = {"eau@example.org": "drop"}
    report = send_week(store, WEEK, smtp_settings(port, tmp_path, smtp_timeout_s=10.0))
    assert report.uncertain == ["eau@example.org"] and report.sent == []

    with pytest.raises(PublishError, match="already sent"):
        withdraw_week(store, WEEK, user="marie")


def test_a_bulletin_withdrawn_during_the_send_stops_it_before_any_message(
    published, smtp, tmp_path
):
    store, _ids = published
    recorder, port = smtp
    add_subscriber(store, "aaa@example.org", "Premier", ["decarbonation"], created_at=BEFORE)
    settings = smtp_settings(port, tmp_path)
    turns: list[str] = []

    def on_render(email: str) -> None:
        turns.append(email)
        if email == "btp@example.org":  # the first with something to send
            withdraw_week(store, WEEK, user="marie")

    with pytest.raises(DeliveryError, match="withdrawn during the send"):
        _deliver_with(store, settings, on_render)
    assert recorder.messages == []
    assert list_deliveries(store, week=WEEK) == []  # not even aaa's 'skipped'

    publish_bulletin(store, WEEK, "marie", Settings())  # published again: all goes out
    report = send_week(store, WEEK, settings)
    assert sorted(recorder.by_recipient()) == sorted(report.sent)
    assert report.skipped_empty == ["aaa@example.org", "rien@example.org"]


def test_a_bulletin_withdrawn_then_published_again_during_the_send_stops_the_old_copy(
    published, smtp, tmp_path
):
    """The run holds the first publication's snapshot: it must not send it under the
    second publication's name."""
    store, _ids = published
    recorder, port = smtp

    def on_render(email: str) -> None:
        if email == "btp@example.org":
            withdraw_week(store, WEEK, user="marie")
            publish_bulletin(store, WEEK, "marie", Settings())

    with pytest.raises(DeliveryError, match="withdrawn during the send"):
        _deliver_with(store, smtp_settings(port, tmp_path), on_render)
    assert recorder.messages == []


def test_a_reader_who_leaves_during_the_send_gets_nothing(published, smtp, tmp_path):
    store, _ids = published
    recorder, port = smtp

    def on_render(email: str) -> None:
        if email == "btp@example.org":  # the first in the list; tout@ comes last
            set_subscriber_status(store, "tout@example.org", "unsubscribed")
            set_subscriber_status(store, "eau@example.org", "paused")

    report = _deliver_with(store, smtp_settings(port, tmp_path), on_render)
    assert sorted(recorder.by_recipient()) == ["btp@example.org", "energie@example.org"]
    assert sorted(report.left) == ["eau@example.org", "tout@example.org"]
    assert report.already_sent == []
    assert "2 left the list during the run" in report.summary()
    assert {r["email"] for r in list_deliveries(store, week=WEEK)} == {
        "btp@example.org",
        "energie@example.org",
        "rien@example.org",
    }


def test_a_reader_who_changes_themes_during_the_send_gets_the_new_cut(published, smtp, tmp_path):
    store, _ids = published
    recorder, port = smtp
    tout = get_subscriber(store, email="tout@example.org")

    def on_render(email: str) -> None:
        if email == "btp@example.org":  # the first in the list; tout@ comes last
            update_subscriber(store, tout["id"], themes=["eau"])

    report = _deliver_with(store, smtp_settings(port, tmp_path), on_render)
    assert "tout@example.org" in report.sent
    row = next(r for r in list_deliveries(store, week=WEEK) if r["email"] == "tout@example.org")
    eau = next(r for r in list_deliveries(store, week=WEEK) if r["email"] == "eau@example.org")
    # the water cut only, not every theme as listed when the run started
    assert row["items"] == eau["items"] == 1


@pytest.mark.parametrize("retry_uncertain", [False, True], ids=["plain", "retry-uncertain"])
def test_a_second_send_started_during_the_first_waits_for_it(
    retry_uncertain, published, smtp, tmp_path, db_url
):
    """The scheduler's send and a manual one (or a manual `--retry-uncertain`) at once:
    each reader gets one message, and no message in flight is called uncertain."""
    store, _ids = published
    recorder, port = smtp
    # The server confirms the first message only once the second send waits for the
    # lock: with a slow server (0.3 s a message) instead, a busy machine's second send
    # came after the first had ended, and had nothing to wait for.
    waiting = threading.Event()
    recorder.after_data = dict.fromkeys(EXPECTED_RECIPIENTS, waiting)
    settings = smtp_settings(port, tmp_path, smtp_timeout_s=60.0)
    first: dict = {}
    other = Store(db_url, migrate=False)  # as another process: its own connections
    thread = threading.Thread(target=lambda: first.update(report=send_week(other, WEEK, settings)))
    thread.start()
    waited: list[str] = []

    def on_wait(lock: str) -> None:
        waited.append(lock)
        waiting.set()

    try:
        assert wait_for(lambda: len(recorder.messages) >= 1, timeout=20)
        second = send_week(store, WEEK, settings, retry_uncertain=retry_uncertain, on_wait=on_wait)
    finally:
        waiting.set()
        thread.join(timeout=60)
        other.close()
    assert {e: len(m) for e, m in recorder.by_recipient().items()} == dict.fromkeys(
        EXPECTED_RECIPIENTS, 1
    )
    assert sorted(first["report"].sent) == sorted(EXPECTED_RECIPIENTS)
    assert second.sent == [] and second.uncertain == []
    assert len(waited) == 1  # told once, then waited
    assert sorted(second.already_sent) == sorted([*EXPECTED_RECIPIENTS, "rien@example.org"])


EXPECTED_RECIPIENTS = [
    "btp@example.org",
    "eau@example.org",
    "energie@example.org",
    "tout@example.org",
]


def test_a_send_asked_to_stop_ends_between_two_messages_and_the_next_run_finishes(
    published, smtp, tmp_path
):
    """The scheduler stopping (SIGTERM) must not wait for hundreds of messages at
    rate_per_minute (systemd's SIGKILL comes first): the run ends after the message
    in hand, and says who it did not reach."""
    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path)
    stop = threading.Event()
    week_mail = PublishedWeek(store, WEEK, settings)
    report = deliver(
        store,
        week_mail,
        settings,
        secret=delivery_secret(store, settings),
        progress=lambda status, email: stop.set(),  # SIGTERM during the first message
        stop=stop,
    )
    assert report.sent == ["btp@example.org"]
    assert report.not_reached == [
        "eau@example.org",
        "energie@example.org",
        "rien@example.org",
        "tout@example.org",
    ]
    assert "stopped before 4 reader(s)" in report.summary()

    again = send_week(store, WEEK, settings)
    assert sorted(again.sent) == ["eau@example.org", "energie@example.org", "tout@example.org"]
    assert {e: len(m) for e, m in recorder.by_recipient().items()} == dict.fromkeys(
        EXPECTED_RECIPIENTS, 1
    )
