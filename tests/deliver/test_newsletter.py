"""Mail that clients treat as a newsletter, checked on the bytes the SMTP server
received, with Python's parser, the ``listunsub`` audit (RFC 2369 / 8058 / 6068)
and SpamAssassin's rules (local tests only: ``spamassassin -L``)."""

from __future__ import annotations

import re
import shutil
import subprocess
from email import message_from_bytes, policy

import listunsub
import pytest
from starlette.testclient import TestClient

from tests.desk.builder import WEEK
from watcher.deliver import send_week
from watcher.desk.app import create_app
from watcher.store.delivery import get_subscriber

from .conftest import APP_URL, smtp_settings


@pytest.fixture
def received(published, smtp, tmp_path):
    """{recipient: raw bytes} of the week's mail, sent to a real local SMTP server."""
    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path, send_empty_note=True)
    send_week(store, WEEK, settings)
    raws = {}
    for (_sender, rcpts), raw in zip(recorder.envelopes, recorder.raw, strict=True):
        raws[rcpts[0]] = raw
    return store, settings, raws


def _head(raw: bytes) -> bytes:
    return raw.split(b"\r\n\r\n", 1)[0]


def test_list_unsubscribe_is_folded_never_encoded(received):
    _store, _settings, raws = received
    head = _head(raws["tout@example.org"])
    assert head.startswith(b"MIME-Version: 1.0\r\n")
    field = re.search(rb"\r\nList-Unsubscribe: (.*?)\r\n(?! )", head, re.S).group(1)
    assert b"=?" not in field  # no RFC 2047 encoded-word
    https, mailto = field.split(b",\r\n ")
    assert re.fullmatch(rb"<https://veille\.example\.org/app/abonnement/desabonner/[\w.-]+>", https)
    assert mailto == b"<mailto:veille+desinscription@example.org?subject=desinscription>"
    assert b"\r\nList-Unsubscribe-Post: List-Unsubscribe=One-Click\r\n" in head
    assert b"\r\nList-Id: Veille EIT Grand Est <veille.example.org>\r\n" in head
    assert all(len(line) <= 998 for line in head.split(b"\r\n"))


def _raw_field(raw: bytes, name: bytes) -> str:
    """A header field's body as it travels (folded, nothing decoded)."""
    found = re.search(rb"\r\n" + name + rb": (.*?)\r\n(?! )", _head(raw), re.S)
    return found.group(1).decode("ascii")


def test_the_parser_and_the_list_unsubscribe_audit_read_it_as_a_one_click_list(received):
    store, _settings, raws = received
    for email, raw in raws.items():
        msg = message_from_bytes(raw, policy=policy.default)
        assert msg["MIME-Version"] == "1.0"
        assert msg.get_content_type() == "multipart/alternative"
        # The audit reads the field as sent: an RFC 2047 encoded-word would fail it
        # (invalid-list-unsubscribe, no-https) even though Python's parser decodes it.
        field = _raw_field(raw, b"List-Unsubscribe")
        header = listunsub.parse_header(field, strict=True)
        assert header.uris[0].startswith(f"{APP_URL}abonnement/desabonner/")
        assert header.uris[1].startswith("mailto:")
        assert str(msg["List-Unsubscribe"]) == ", ".join(f"<{u}>" for u in header.uris)
        post = _raw_field(raw, b"List-Unsubscribe-Post")
        problems = listunsub.audit(field, post, dkim_signatures=None)
        assert problems == [], (email, problems)  # DKIM is the outgoing server's job
        request = listunsub.one_click_request(header.uris[0], form="urlencoded")
        assert request.method == "POST" and request.body == b"List-Unsubscribe=One-Click"
    # each subscriber has a link of their own
    links = {_raw_field(raw, b"List-Unsubscribe") for raw in raws.values()}
    assert len(links) == len(raws)
    assert get_subscriber(store, email="tout@example.org")["status"] == "active"


def test_footer_links_in_both_parts_lead_to_the_subscribers_own_pages(received):
    store, settings, raws = received
    client = TestClient(create_app(store, settings), base_url="http://127.0.0.1")
    for email in ("eau@example.org", "rien@example.org"):  # a bulletin, an empty note
        msg = message_from_bytes(raws[email], policy=policy.default)
        text = msg.get_body(("plain",)).get_content()
        html = msg.get_body(("html",)).get_content()
        assert "@@" not in text + html  # every slot filled in
        manage = re.search(r"Gérer mes thèmes : (\S+)", text).group(1)
        unsubscribe = re.search(r"Se désabonner : (\S+)", text).group(1)
        assert "Version en ligne : https://veille.example.org/bulletins/2026-W48/" in text
        for label, url in (("Se désabonner", unsubscribe), ("Gérer mes thèmes", manage)):
            assert f'<a href="{url}"' in html and f">{label}</a>" in html, label
        assert ">Version en ligne</a>" in html
        assert unsubscribe in str(msg["List-Unsubscribe"])
        page = client.get("/" + manage.removeprefix(APP_URL))
        assert page.status_code == 200 and email in page.text


def test_preheader_and_a_fluid_layout(received):
    _store, _settings, raws = received
    msg = message_from_bytes(raws["tout@example.org"], policy=policy.default)
    html = msg.get_body(("html",)).get_content()
    body = html.split("<body", 1)[1]
    first = re.search(r"<div[^>]*>([^<]*)</div>", body)
    assert "display: none" in first.group(0) and body.index(first.group(0)) < body.index("<table")
    assert first.group(1).startswith("semaine 48") and "Appels à projets : 2" in first.group(1)
    assert len(first.group(1)) < 160
    # no fixed width outside Outlook's conditional table; the main table is fluid
    outside_mso = re.sub(r"<!--\[if mso\]>.*?<!\[endif\]-->", "", html, flags=re.S)
    assert 'width="600"' not in outside_mso
    assert not re.search(r"(?<!max-)width: ?600px", outside_mso)
    assert re.search(r'class="main"[^>]*style="[^"]*max-width: 600px', outside_mso)


SPAMASSASSIN = shutil.which("spamassassin")
# Rules about structure that a clean newsletter must not trigger.
STRUCTURE_RULES = re.compile(
    r"MIME_HTML_ONLY|MIME_HEADER_CTYPE_ONLY|MISSING_MIME|MISSING_DATE|MISSING_MID|MPART_ALT_DIFF|HTML_FONT_LOW_CONTRAST"
    r"|FONT_INVIS|HTML_SHORT_LINK|MIME_QP_LONG_LINE|HTML_MIME_NO_HTML_TAG|INVALID_MSGID"
)


def _spamassassin(raw: bytes) -> tuple[float, list[str]]:
    assert SPAMASSASSIN, "spamassassin is missing: `make system-deps` installs it"
    report = subprocess.run(
        [SPAMASSASSIN, "-L", "-t"], input=raw, capture_output=True, timeout=120, check=True
    ).stdout.decode("utf-8", "replace")
    score = float(re.search(r"Content analysis details:\s+\((-?[\d.]+) points", report).group(1))
    rules = re.findall(
        r"^\s*-?[\d.]+ ([A-Z][A-Z0-9_]+)\s", report.split("Content analysis")[1], re.M
    )
    return score, rules


def test_spamassassin_finds_nothing_to_hold_against_them(received):
    _store, _settings, raws = received
    for email in ("tout@example.org", "rien@example.org"):
        score, rules = _spamassassin(raws[email])
        assert score < 1.0, (email, score, rules)
        assert not [r for r in rules if STRUCTURE_RULES.fullmatch(r)], (email, rules)


def test_the_confirmation_mail_is_plain_and_clean(store, tmp_path):
    from watcher.deliver.optin import confirmation_message, request_subscription

    settings = smtp_settings(1, tmp_path)
    pending = request_subscription(store, "nouvelle@example.org", themes=["eau"])
    raw = confirmation_message(settings, "secret", pending).as_bytes()
    msg = message_from_bytes(raw, policy=policy.default)
    assert msg["MIME-Version"] == "1.0" and msg["List-Unsubscribe"] is None
    text = msg.get_body(("plain",)).get_content()
    assert "Thèmes : Eau" in text and "valable 48 heures" in text
    assert f"{APP_URL}abonnement/confirmer/" in text
    score, rules = _spamassassin(raw)
    assert score < 1.0 and not [r for r in rules if STRUCTURE_RULES.fullmatch(r)], rules
