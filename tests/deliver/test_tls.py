"""SMTP over STARTTLS and over implicit TLS, with login from the environment."""

from __future__ import annotations

import datetime as dt
import ipaddress
import ssl

import pytest
from aiosmtpd.smtp import AuthResult, LoginPassword
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.desk.builder import WEEK
from tests.shared import smtp_server
from watcher.deliver import send_week
from watcher.exceptions import ConfigError, DeliveryError
from watcher.store.delivery import list_deliveries

from .conftest import smtp_settings
from .test_send import EXPECTED


def _self_signed(tmp_path):  # noqa: ANN001, ANN202
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    cert_path, key_path = tmp_path / "cert.pem", tmp_path / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _authenticator(server, session, envelope, mechanism, auth_data):  # noqa: ANN001, ANN202
    ok = isinstance(auth_data, LoginPassword) and (auth_data.login, auth_data.password) == (
        b"veille",
        b"s3cret",
    )
    return AuthResult(success=ok, handled=False)  # unhandled failure: the server answers 535


@pytest.mark.parametrize("security", ["starttls", "tls"])
def test_delivery_over_tls_with_login(security, published, tmp_path, monkeypatch):
    store, _ids = published
    cert, key = _self_signed(tmp_path)
    server_ctx = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_ctx.load_cert_chain(cert, key)
    # The client trusts our test certificate, and only it.
    monkeypatch.setattr(
        "watcher.deliver.smtp._tls_context", lambda: ssl.create_default_context(cafile=str(cert))
    )
    monkeypatch.setenv("WATCHER_SMTP_USER", "veille")
    monkeypatch.setenv("WATCHER_SMTP_PASSWORD", "wrong")
    options: dict = {"authenticator": _authenticator}
    if security == "starttls":
        options.update(tls_context=server_ctx, require_starttls=True, auth_require_tls=True)
    else:
        # aiosmtpd only counts STARTTLS as TLS for auth_require_tls: the whole
        # connection is TLS here anyway.
        options.update(ssl_context=server_ctx, auth_require_tls=False)
    with smtp_server(**options) as (recorder, port):
        settings = smtp_settings(port, tmp_path, smtp_security=security)
        # a wrong password stops the run at once, with the variables to check
        with pytest.raises(DeliveryError, match="SMTP login refused") as info:
            send_week(store, WEEK, settings)
        assert "WATCHER_SMTP_PASSWORD" in str(info.value)
        rows = list_deliveries(store, week=WEEK)
        assert [r["status"] for r in rows] == ["failed"]  # retried next run, not "uncertain"

        monkeypatch.setenv("WATCHER_SMTP_PASSWORD", "s3cret")
        report = send_week(store, WEEK, settings)
        assert sorted(report.sent) == sorted(EXPECTED)
        assert {e: len(m) for e, m in recorder.by_recipient().items()} == dict.fromkeys(EXPECTED, 1)


def test_bad_security_setting_is_a_config_error(published, tmp_path):
    store, _ids = published
    with pytest.raises(ConfigError, match="smtp_security"):
        send_week(store, WEEK, smtp_settings(25, tmp_path, smtp_security="ssl"))


def test_login_configured_but_not_offered_stops_the_run(published, smtp, tmp_path, monkeypatch):
    store, _ids = published
    recorder, port = smtp
    monkeypatch.setenv("WATCHER_SMTP_USER", "veille")
    with pytest.raises(DeliveryError, match="offers no SMTP login"):
        send_week(store, WEEK, smtp_settings(port, tmp_path))
    assert recorder.messages == []
    assert [r["status"] for r in list_deliveries(store, week=WEEK)] == ["failed"]
