"""Mail to the team (alert digest, curators' reminder), through the delivery settings.

The deliver stage's SMTP transport is reused: same security modes, same
credentials from the environment.
"""

from __future__ import annotations

from email.message import EmailMessage
from email.utils import formatdate, make_msgid

from watcher.deliver.smtp import SmtpTransport
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


def send_team_mail(settings: Settings, to: str, subject: str, text: str) -> None:
    """Send one plain-text message; raise DeliveryError naming the server on failure."""
    msg = team_message(settings, to, subject, text)
    try:
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
