"""Header injection: item text stays in the body, a name cannot add a recipient."""

from __future__ import annotations

from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.utils import getaddresses

import pytest

from tests.desk.builder import WEEK
from watcher.deliver import add_subscriber, send_week
from watcher.deliver.message import (
    AddressError,
    build_message,
    build_subject,
    mailbox,
    parse_sender,
    validate_email,
)
from watcher.exceptions import ConfigError, DeliveryError, WeekError

from .conftest import BEFORE, smtp_settings


def test_a_title_with_crlf_cannot_add_a_header(published, smtp, tmp_path):
    store, _ids = published
    recorder, port = smtp
    send_week(store, WEEK, smtp_settings(port, tmp_path))
    ((rcpts, raw),) = [
        (rcpts, raw)
        for (_sender, rcpts), raw in zip(recorder.envelopes, recorder.raw, strict=True)
        if "tout@example.org" in rcpts
    ]
    assert rcpts == ["tout@example.org"]  # no Bcc smuggled into the envelope
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["Bcc"] is None and msg["X-Injected"] is None
    head = raw.split(b"\r\n\r\n", 1)[0]
    assert b"victime@example.net" not in head
    assert "Titre piégé" in msg.get_body(("plain",)).get_content()


@pytest.mark.parametrize(
    "name",
    [
        "Mallory <mallory@evil.example>, autre@evil.example",
        'Mallory" <mallory@evil.example>, "x',
        "Mallory\r\nBcc: mallory@evil.example",
        "Mallory\nTo: autre@evil.example",
    ],
)
def test_an_address_list_cannot_be_smuggled_through_a_name(name, published, smtp, tmp_path):
    store, _ids = published
    recorder, port = smtp
    add_subscriber(store, "cible@example.org", name, ["eau"], created_at=BEFORE)
    send_week(store, WEEK, smtp_settings(port, tmp_path))
    ((rcpts, raw),) = [
        (rcpts, raw)
        for (_sender, rcpts), raw in zip(recorder.envelopes, recorder.raw, strict=True)
        if "cible@example.org" in rcpts
    ]
    assert rcpts == ["cible@example.org"]
    msg = message_from_bytes(raw, policy=policy.default)
    addresses = getaddresses(msg.get_all("To"))
    assert [a for _n, a in addresses] == ["cible@example.org"]
    assert msg["Bcc"] is None and len(msg.get_all("To")) == 1


@pytest.mark.parametrize(
    "bad",
    [
        "a@example.org, b@example.org",
        "a@example.org\r\nBcc: b@example.org",
        '"x" <a@example.org>',
        "a@example.org;b@example.org",
        "pas-une-adresse",
        "a@@example.org",
        "a..b@example.org",
        "",
        # 255 characters: SMTP's path is at most 256 octets with its <> (RFC 5321 4.5.3.1.3)
        "a" * 64 + "@" + ".".join(["b" * 63] * 2 + ["c" * 58]) + ".org",
    ],
)
def test_invalid_addresses_are_refused(bad, store):
    with pytest.raises(AddressError):
        validate_email(bad)
    with pytest.raises(ConfigError, match="email"):
        add_subscriber(store, bad, "x")


def test_the_longest_deliverable_address_is_accepted():
    longest = "a" * 64 + "@" + ".".join(["b" * 63] * 2 + ["c" * 57]) + ".org"
    assert len(longest) == 254 and validate_email(longest) == longest


def test_subject_is_built_from_our_strings_only():
    assert build_subject("2026-W48", 3) == (
        "Veille EIT Grand Est – semaine 48 (2026) – 3 appels à projets ouverts"
    )
    assert build_subject("2026-W01", 0) == "Veille EIT Grand Est – semaine 1 (2026)"
    with pytest.raises(WeekError):
        build_subject("2026-W48\r\nBcc: x@y.z", 1)


def test_message_has_both_parts_and_one_line_headers():
    msg = build_message(
        sender=parse_sender("Veille EIT <veille@example.org>"),
        to=mailbox("a@example.org", "Anne\r\nBcc: b@example.org"),
        subject="Sujet\r\nBcc: b@example.org",
        html="<p>Bonjour</p>",
        text="Bonjour",
        date=datetime(2026, 11, 30, 8, tzinfo=UTC),
        unsubscribe_mailto="stop@example.org",
        unsubscribe_url="https://veille.example.org/desabonnement/abc",
    )
    raw = msg.as_bytes()
    parsed = message_from_bytes(raw, policy=policy.default)
    assert parsed["Bcc"] is None
    assert parsed["Subject"] == "Sujet Bcc: b@example.org"
    assert [p.get_content_type() for p in parsed.iter_parts()] == ["text/plain", "text/html"]
    assert parsed["Date"] == "Mon, 30 Nov 2026 08:00:00 +0000"
    with pytest.raises(DeliveryError):
        build_message(
            sender=mailbox("v@example.org"),
            to=mailbox("a@example.org"),
            subject="s",
            html="h",
            text="t",
            date=datetime(2026, 11, 30, tzinfo=UTC),
            unsubscribe_url="javascript:alert(1)",
        )


def test_sender_must_be_one_valid_address():
    with pytest.raises(ConfigError, match="delivery.sender"):
        parse_sender("a@example.org, b@example.org")
    with pytest.raises(ConfigError, match="delivery.sender"):
        parse_sender("Veille <pas une adresse>")
