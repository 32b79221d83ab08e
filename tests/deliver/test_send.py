"""Delivery against a real SMTP server: themes, both parts, once only, retries."""

from __future__ import annotations

import smtplib
from email.message import EmailMessage

import pytest
from click.testing import CliRunner

from tests.desk.builder import ITEMS, WEEK
from tests.shared import fill_disk
from watcher.cli import main
from watcher.deliver import add_subscriber, send_week
from watcher.deliver.smtp import SmtpTransport
from watcher.exceptions import DeliveryError
from watcher.store.delivery import get_subscriber, list_deliveries

from .conftest import smtp_settings

EXPECTED = {
    "energie@example.org": {"chaleur", "mutualisation"},
    "eau@example.org": {"reut"},
    "btp@example.org": {"reemploi"},
    "tout@example.org": {
        "chaleur",
        "reemploi",
        "reut",
        "mutualisation",
        "methanisation",
        "guide",
        "piege",
    },
}


def _titles_in(msg: EmailMessage) -> set[str]:
    text = msg.get_body(("plain",)).get_content()
    found = set()
    for key, spec in ITEMS.items():
        first_line = spec[0].split("\r")[0]
        if first_line in text:
            found.add(key)
    return found


def test_each_subscriber_gets_exactly_the_items_of_their_themes(published, smtp, tmp_path):
    store, _ids = published
    recorder, port = smtp
    report = send_week(store, WEEK, smtp_settings(port, tmp_path))
    got = recorder.by_recipient()
    assert set(got) == set(EXPECTED)
    for email, keys in EXPECTED.items():
        assert len(got[email]) == 1
        msg = got[email][0]
        assert _titles_in(msg) == keys, email
        html = msg.get_body(("html",)).get_content()
        assert msg.get_content_type() == "multipart/alternative"
        assert "<html" in html.lower()
    assert report.skipped_empty == ["rien@example.org"]
    assert sorted(report.sent) == sorted(EXPECTED)


def test_headers_subject_and_unsubscribe_links(published, smtp, tmp_path):
    store, _ids = published
    recorder, port = smtp
    send_week(store, WEEK, smtp_settings(port, tmp_path))
    got = recorder.by_recipient()
    everything = got["tout@example.org"][0]
    assert everything["Subject"] == (
        "Veille EIT Grand Est – semaine 48 (2026) – 2 appels à projets ouverts"
    )
    assert got["energie@example.org"][0]["Subject"].endswith("– 1 appel à projets ouvert")
    assert got["eau@example.org"][0]["Subject"] == "Veille EIT Grand Est – semaine 48 (2026)"
    for header in ("Date", "Message-ID", "From", "To", "List-Unsubscribe"):
        assert everything[header], header
    links = everything["List-Unsubscribe"]
    assert "<mailto:veille+desinscription@example.org?subject=desinscription>" in links
    assert links.startswith("<https://veille.example.org/app/abonnement/desabonner/")
    assert everything["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    ids = {m["Message-ID"] for msgs in got.values() for m in msgs}
    assert len(ids) == len(EXPECTED)  # one distinct Message-ID per message
    rows = {r["email"]: r for r in list_deliveries(store, week=WEEK)}
    assert rows["tout@example.org"]["message_id"] == everything["Message-ID"]
    assert rows["tout@example.org"]["status"] == "sent"


def test_a_second_run_sends_nothing_again(published, smtp, tmp_path):
    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path)
    send_week(store, WEEK, settings)
    again = send_week(store, WEEK, settings)
    assert again.sent == []
    assert sorted(again.already_sent) == sorted([*EXPECTED, "rien@example.org"])
    assert len(recorder.messages) == len(EXPECTED)


def test_a_refused_recipient_is_logged_retried_and_never_stops_the_others(
    published, smtp, tmp_path
):
    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path)
    recorder.refuse = {"eau@example.org"}
    first = send_week(store, WEEK, settings)
    assert set(first.failed) == {"eau@example.org"}
    assert "550" in first.failed["eau@example.org"]
    assert set(recorder.by_recipient()) == set(EXPECTED) - {"eau@example.org"}
    row = next(r for r in list_deliveries(store, week=WEEK) if r["email"] == "eau@example.org")
    assert (row["status"], row["attempts"]) == ("failed", 1)
    # the server's words as one readable line, not Python's b'...'
    assert row["last_error"] == "refused: 550 5.1.1 <eau@example.org>: mailbox unavailable"
    listed = CliRunner().invoke(
        main, ["--db", store.url, "deliveries", "--week", WEEK, "--status", "failed"]
    )
    assert listed.exit_code == 0, listed.output
    counts = f"{len(first.sent)} sent, 1 failed, {len(first.skipped_empty)} skipped"
    assert listed.stderr == f"{WEEK}: {counts}\n"
    fields = listed.stdout.rstrip("\n").split("\t")
    assert fields[:4] == ["eau@example.org", "failed", "1", "1"]
    assert fields[4] == row["message_id"] and fields[5] == row["last_error"]
    shown = CliRunner().invoke(main, ["--db", store.url, "status"])
    assert f"Last send: {WEEK}: {counts} (watcher deliveries --week {WEEK})" in shown.output

    recorder.refuse = set()
    second = send_week(store, WEEK, settings)
    assert second.sent == ["eau@example.org"]
    by_rcpt = recorder.by_recipient()
    assert all(len(by_rcpt[e]) == 1 for e in EXPECTED)
    row = next(r for r in list_deliveries(store, week=WEEK) if r["email"] == "eau@example.org")
    assert (row["status"], row["attempts"]) == ("sent", 2)


def test_a_run_that_leaves_permanent_refusals_alone_still_retries_the_others(
    published, smtp, tmp_path
):
    """The scheduler's automatic retries (retry_permanent=False) skip a 5xx refusal
    and resend a 4xx one; a manual send retries both."""
    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path)
    recorder.refuse = {"eau@example.org"}  # 550
    recorder.at_rcpt = {"btp@example.org": "451"}
    first = send_week(store, WEEK, settings)
    assert "451" in first.failed["btp@example.org"]
    recorder.refuse, recorder.at_rcpt = set(), {}
    retry = send_week(store, WEEK, settings, retry_permanent=False)
    assert (retry.sent, retry.refused, retry.failed) == (
        ["btp@example.org"],
        ["eau@example.org"],
        {},
    )
    assert "1 refused for good (5xx; not retried)" in retry.summary()
    assert "eau@example.org" not in recorder.by_recipient()
    manual = send_week(store, WEEK, settings)
    assert (manual.sent, manual.refused) == (["eau@example.org"], [])


def test_gives_up_after_max_attempts(published, smtp, tmp_path):
    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path, max_attempts=2)
    recorder.refuse = {"btp@example.org"}
    send_week(store, WEEK, settings)
    send_week(store, WEEK, settings)
    third = send_week(store, WEEK, settings)
    assert third.gave_up == ["btp@example.org"]
    assert "btp@example.org" not in third.failed


def test_a_server_that_went_away_fails_each_message_and_the_run_ends(published, tmp_path):
    store, _ids = published
    # A port nobody listens on: every message fails with a connection error, none raises.
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    report = send_week(store, WEEK, smtp_settings(port, tmp_path))
    assert set(report.failed) == set(EXPECTED)
    assert all("Error" in error or "refused" in error for error in report.failed.values())


class CrashingTransport:
    """Dies (like a killed process) right after the server accepted ``after`` messages."""

    def __init__(self, settings, after: int) -> None:  # noqa: ANN001
        self.inner = SmtpTransport(settings.delivery)
        self.after = after
        self.count = 0

    def send(self, msg: EmailMessage) -> None:
        self.inner.send(msg)
        self.count += 1
        if self.count == self.after:
            raise KeyboardInterrupt  # between the server's 250 and our "sent" mark

    def close(self) -> None:
        self.inner.close()


def test_a_run_interrupted_in_the_middle_then_rerun_delivers_each_message_once(
    published, smtp, tmp_path
):
    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path)
    with pytest.raises(KeyboardInterrupt):
        send_week(store, WEEK, settings, transport=CrashingTransport(settings, after=2))
    assert len(recorder.messages) == 2
    rerun = send_week(store, WEEK, settings)
    by_rcpt = recorder.by_recipient()
    assert set(by_rcpt) == set(EXPECTED)
    assert all(len(msgs) == 1 for msgs in by_rcpt.values())
    # The message in flight at the crash is "uncertain": reported, not resent.
    assert len(rerun.uncertain) == 1
    assert len(rerun.already_sent) == 1


def test_a_new_subscriber_gets_nothing_from_the_backlog(published, smtp, tmp_path):
    store, _ids = published
    recorder, port = smtp
    add_subscriber(store, "nouveau@example.org", "Nouvelle", ["energie"])  # subscribed now
    report = send_week(store, WEEK, smtp_settings(port, tmp_path))
    assert report.not_yet_subscribed == ["nouveau@example.org"]
    assert "nouveau@example.org" not in recorder.by_recipient()


def test_unsubscribed_addresses_get_nothing(published, smtp, tmp_path):
    from watcher.deliver import remove_subscriber

    store, _ids = published
    recorder, port = smtp
    remove_subscriber(store, "eau@example.org")
    send_week(store, WEEK, smtp_settings(port, tmp_path))
    assert "eau@example.org" not in recorder.by_recipient()
    assert get_subscriber(store, email="eau@example.org")["status"] == "unsubscribed"


def test_empty_note_when_configured(published, smtp, tmp_path):
    store, _ids = published
    recorder, port = smtp
    send_week(store, WEEK, smtp_settings(port, tmp_path, send_empty_note=True))
    note = recorder.by_recipient()["rien@example.org"][0]
    assert "rien retenu pour vos thèmes" in note.get_body(("plain",)).get_content()
    assert "Décarbonation" in note.get_body(("html",)).get_content()


def test_dry_run_writes_eml_files_and_sends_nothing(published, smtp, tmp_path):
    from email import message_from_bytes, policy

    store, _ids = published
    recorder, port = smtp
    out = tmp_path / "dry"
    report = send_week(store, WEEK, smtp_settings(port, tmp_path), dry_run=True, out_dir=out)
    files = sorted(p.name for p in (out / "mail" / WEEK).glob("*.eml"))
    assert files == sorted(f"{e}.eml" for e in EXPECTED)
    assert recorder.messages == []
    assert list_deliveries(store, week=WEEK) == []  # a dry run does not count as sent
    msg = message_from_bytes(
        (out / "mail" / WEEK / "eau@example.org.eml").read_bytes(), policy=policy.default
    )
    assert _titles_in(msg) == {"reut"}
    assert len(report.written) == len(EXPECTED)


def test_an_unpublished_week_is_refused(store, tmp_path):
    with pytest.raises(DeliveryError, match="not published"):
        send_week(store, "2026-W47", smtp_settings(25, tmp_path))


def test_transport_raises_refusals_for_the_loop_to_log(smtp, tmp_path):
    from datetime import UTC, datetime

    from watcher.deliver.message import build_message, mailbox

    recorder, port = smtp
    recorder.refuse = {"non@example.org"}
    transport = SmtpTransport(smtp_settings(port, tmp_path).delivery)
    msg = build_message(
        sender=mailbox("veille@example.org"),
        to=mailbox("non@example.org"),
        subject="s",
        html="<p>x</p>",
        text="x",
        date=datetime(2026, 11, 30, tzinfo=UTC),
    )
    with pytest.raises(smtplib.SMTPRecipientsRefused):
        transport.send(msg)
    transport.close()


def test_a_server_that_never_answers_times_out_per_message(published, tmp_path):
    import socket
    import threading

    store, _ids = published
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept_and_stay_silent() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                held.append(listener.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept_and_stay_silent, daemon=True)
    thread.start()
    try:
        settings = smtp_settings(listener.getsockname()[1], tmp_path, smtp_timeout_s=0.3)
        report = send_week(store, WEEK, settings)
    finally:
        stop.set()
        thread.join()
        for conn in held:
            conn.close()
        listener.close()
    assert set(report.failed) == set(EXPECTED)
    assert all("timed out" in error for error in report.failed.values())
    rows = list_deliveries(store, week=WEEK)
    assert {r["status"] for r in rows if r["email"] in EXPECTED} == {"failed"}
    assert all(r["attempts"] == 1 for r in rows if r["email"] in EXPECTED)


def test_the_unsubscribe_link_of_a_sent_message_works_in_the_desk(published, smtp, tmp_path):
    import re

    from starlette.testclient import TestClient

    from watcher.desk.app import create_app

    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path)
    send_week(store, WEEK, settings)
    msg = recorder.by_recipient()["eau@example.org"][0]
    link = re.search(
        r"<https://veille\.example\.org/app(/abonnement/desabonner/[^>]+)>",
        msg["List-Unsubscribe"],
    )
    # the desk answers at the links' host name (any other Host header gets 400)
    client = TestClient(create_app(store, settings), base_url="https://veille.example.org")
    # what a mail client does for List-Unsubscribe-Post (RFC 8058)
    response = client.post(link.group(1), data={"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert get_subscriber(store, email="eau@example.org")["status"] == "unsubscribed"
    assert get_subscriber(store, email="btp@example.org")["status"] == "active"


def test_a_send_without_the_desks_secret_is_refused_before_any_message(
    published, smtp, tmp_path, monkeypatch
):
    """`watcher serve` given WATCHER_SECRET_KEY, `watcher send` from a shell without it:
    every link of the bulletin, unsubscribing included, would have been a 404."""
    import re

    from starlette.testclient import TestClient

    from watcher.desk.app import create_app

    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path)
    monkeypatch.setenv("WATCHER_SECRET_KEY", "s" * 40)
    create_app(store, settings)  # the desk starts with its secret
    monkeypatch.delenv("WATCHER_SECRET_KEY")
    with pytest.raises(DeliveryError) as refused:
        send_week(store, WEEK, settings)
    assert "the desk checks the readers' links with another secret" in refused.value.message
    assert "WATCHER_SECRET_KEY" in refused.value.hint
    assert recorder.messages == [] and list_deliveries(store, week=WEEK) == []
    result = CliRunner().invoke(main, ["--db", store.url, "send", "--week", WEEK])
    assert result.exit_code == 1 and "would not work; nothing was sent" in result.output

    monkeypatch.setenv("WATCHER_SECRET_KEY", "s" * 40)  # as the desk has it: the links work
    send_week(store, WEEK, settings)
    msg = recorder.by_recipient()["eau@example.org"][0]
    link = re.search(r"<https://veille\.example\.org/app(/abonnement/desabonner/[^>]+)>",
                     msg["List-Unsubscribe"])  # fmt: skip
    client = TestClient(create_app(store, settings), base_url="https://veille.example.org")
    assert client.post(link.group(1), data={"List-Unsubscribe": "One-Click"}).status_code == 200
    assert get_subscriber(store, email="eau@example.org")["status"] == "unsubscribed"


# The timeout leaves every reply before the stall seconds of margin: at 0.5 s, a busy
# CI machine once answered a MAIL FROM too late, and the reader was "failed" instead.
@pytest.mark.parametrize(
    ("behaviour", "timeout_s"),
    [("drop", 10.0), (4.0, 1.5)],
    ids=["drops-after-DATA", "stalls-after-DATA"],
)
def test_a_message_handed_over_but_unconfirmed_is_uncertain_not_resent(
    behaviour, timeout_s, published, smtp, tmp_path
):
    """The server has the message, but the connection drops (or its 250 comes later
    than smtp_timeout_s): the next run must not send it again."""
    store, _ids = published
    recorder, port = smtp
    recorder.after_data = {"eau@example.org": behaviour}
    settings = smtp_settings(port, tmp_path, smtp_timeout_s=timeout_s)
    first = send_week(store, WEEK, settings)
    assert first.uncertain == ["eau@example.org"] and "eau@example.org" not in first.failed
    assert sorted(first.sent) == sorted(set(EXPECTED) - {"eau@example.org"})
    row = {r["email"]: r for r in list_deliveries(store, week=WEEK)}["eau@example.org"]
    assert row["status"] == "uncertain" and row["last_error"].startswith("after DATA:")

    recorder.after_data = {}
    second = send_week(store, WEEK, settings)
    assert second.uncertain == ["eau@example.org"] and second.sent == []
    assert {e: len(m) for e, m in recorder.by_recipient().items()} == dict.fromkeys(EXPECTED, 1)

    third = send_week(store, WEEK, settings, retry_uncertain=True)  # after checking the log
    assert third.sent == ["eau@example.org"]
    assert len(recorder.by_recipient()["eau@example.org"]) == 2


def test_a_connection_lost_before_data_is_a_failure_retried_next_run(published, tmp_path):
    """Before the message is written, nothing can have arrived: failed, then retried."""
    import socket
    import threading

    store, _ids = published
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(16)
    stop = threading.Event()

    def greet_then_hang_up_at_mail_from() -> None:
        listener.settimeout(0.1)
        while not stop.is_set():
            try:
                conn = listener.accept()[0]
            except OSError:
                continue
            with conn:
                conn.sendall(b"220 test\r\n")
                file = conn.makefile("rb")
                while line := file.readline():
                    if line.upper().startswith((b"EHLO", b"HELO")):
                        conn.sendall(b"250 test\r\n")
                    else:
                        break  # MAIL FROM: hang up

    thread = threading.Thread(target=greet_then_hang_up_at_mail_from, daemon=True)
    thread.start()
    try:
        report = send_week(store, WEEK, smtp_settings(listener.getsockname()[1], tmp_path))
    finally:
        stop.set()
        thread.join()
        listener.close()
    assert set(report.failed) == set(EXPECTED) and report.uncertain == []
    assert {r["status"] for r in list_deliveries(store, week=WEEK) if r["email"] in EXPECTED} == {
        "failed"
    }


@pytest.mark.parametrize("url", ["http://veille.example.org/", "javascript:alert(1)//"])
def test_a_public_url_the_links_cannot_use_is_refused_before_any_message(
    url, published, smtp, tmp_path
):
    from watcher.exceptions import ConfigError

    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path)
    settings.desk.public_url = url
    with pytest.raises(ConfigError, match="desk.public_url"):
        send_week(store, WEEK, settings)
    assert recorder.messages == [] and list_deliveries(store, week=WEEK) == []


def test_a_connection_dropped_at_rcpt_after_a_sent_message_is_a_failure_not_uncertain(
    published, smtp, tmp_path
):
    """btp then eau share one connection (subscribers go by address): the server takes
    btp's message, then hangs up at eau's RCPT. Nothing of eau's message was written,
    so eau is failed and retried, not uncertain because of btp's DATA before it."""
    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path)
    recorder.at_rcpt = {"eau@example.org": "drop"}
    first = send_week(store, WEEK, settings)
    assert first.uncertain == [] and set(first.failed) == {"eau@example.org"}
    assert first.sent[0] == "btp@example.org"  # eau's message came after one on the session
    assert sorted(first.sent) == sorted(set(EXPECTED) - {"eau@example.org"})
    row = {r["email"]: r for r in list_deliveries(store, week=WEEK)}["eau@example.org"]
    assert row["status"] == "failed" and not row["last_error"].startswith("after DATA")

    recorder.at_rcpt = {}
    second = send_week(store, WEEK, settings)
    assert second.sent == ["eau@example.org"] and second.uncertain == []
    assert {e: len(m) for e, m in recorder.by_recipient().items()} == dict.fromkeys(EXPECTED, 1)


def test_a_421_at_rcpt_fails_that_message_and_the_next_one_reconnects(published, smtp, tmp_path):
    """smtplib closes its socket on a 421: the next subscriber must get a new session,
    not 'please run connect() first' on the dead one."""
    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path)
    recorder.at_rcpt = {"eau@example.org": "421"}
    first = send_week(store, WEEK, settings)
    assert set(first.failed) == {"eau@example.org"} and first.uncertain == []
    assert "421" in first.failed["eau@example.org"]
    assert sorted(first.sent) == sorted(set(EXPECTED) - {"eau@example.org"})
    assert "energie@example.org" in recorder.by_recipient()  # the one right after eau

    recorder.at_rcpt = {}
    second = send_week(store, WEEK, settings)
    assert second.sent == ["eau@example.org"] and second.uncertain == []
    assert {e: len(m) for e, m in recorder.by_recipient().items()} == dict.fromkeys(EXPECTED, 1)


def test_a_dry_run_on_a_full_disk_leaves_no_half_written_message(
    published, smtp, tmp_path, monkeypatch
):
    store, _ids = published
    _recorder, port = smtp
    out = tmp_path / "dry"
    settings = smtp_settings(port, tmp_path)
    with monkeypatch.context() as patch:
        fill_disk(patch, ".eml")
        with pytest.raises(OSError) as raised:
            send_week(store, WEEK, settings, dry_run=True, out_dir=out)
    folder = out / "mail" / WEEK
    assert raised.value.filename in {str(folder / f"{e}.eml") for e in EXPECTED}
    assert list(folder.iterdir()) == []  # was a truncated .eml, a message cut in half
    send_week(store, WEEK, settings, dry_run=True, out_dir=out)
    assert sorted(p.name for p in folder.iterdir()) == sorted(f"{e}.eml" for e in EXPECTED)
