"""Mail to the team (alert digest, curators' reminder), through the delivery settings.

The deliver stage's SMTP transport is reused when it is installed (same
security modes, same credentials from the environment); a bare smtplib
session is the fallback so the scheduler can warn the team even if the
deliver package is broken, which is exactly when a warning matters.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from watcher.exceptions import DeliveryError
from watcher.settings import Settings


def team_message(settings: Settings, to: str, subject: str, text: str) -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = settings.delivery.sender
    msg["To"] = to
    msg["Subject"] = subject
    msg["Date"] = formatdate(localtime=False)
    msg["Message-ID"] = make_msgid(domain="watcher.local")
    msg["Auto-Submitted"] = "auto-generated"  # RFC 3834: no vacation replies to a robot
    msg.set_content(text)
    return msg


def _send_with_smtplib(settings: Settings, msg: EmailMessage) -> None:
    d = settings.delivery
    timeout = getattr(d, "smtp_timeout_s", 30.0)
    if d.smtp_security == "tls":
        smtp: smtplib.SMTP = smtplib.SMTP_SSL(
            d.smtp_host, d.smtp_port, timeout=timeout, context=ssl.create_default_context()
        )
    else:
        smtp = smtplib.SMTP(d.smtp_host, d.smtp_port, timeout=timeout)
        if d.smtp_security == "starttls":
            smtp.starttls(context=ssl.create_default_context())
    try:
        user = os.environ.get(d.smtp_user_env, "")
        if user:
            smtp.login(user, os.environ.get(d.smtp_password_env, ""))
        smtp.send_message(msg)
    finally:
        with contextlib.suppress(smtplib.SMTPException, OSError):
            smtp.quit()


def send_team_mail(settings: Settings, to: str, subject: str, text: str) -> None:
    """Send one plain-text message; raise DeliveryError naming the server on failure."""
    msg = team_message(settings, to, subject, text)
    try:
        try:
            from watcher.deliver.smtp import SmtpTransport
        except ImportError:
            _send_with_smtplib(settings, msg)
            return
        transport = SmtpTransport(settings.delivery)
        try:
            transport.send(msg)
        finally:
            transport.close()
    except DeliveryError:
        raise
    except Exception as exc:  # smtplib, OSError, the transport's TransientError
        d = settings.delivery
        raise DeliveryError(
            f"mail to {to} via {d.smtp_host}:{d.smtp_port} failed: {exc}",
            hint="check the [delivery] smtp_* settings and the SMTP credentials' variables",
        ) from exc
