"""SMTP transport (smtplib) and the per-minute rate limit.

The transport connects lazily, logs in with credentials read from the
environment variables named in the settings, and reconnects after a broken
connection, so one failing message never stops the others.

Once the message itself has been written after DATA, only the server's final
reply says whether it took it. A connection that drops, or a reply later than
``smtp_timeout_s``, from then on means the message may well be delivered:
that is ``UncertainError``, never a plain failure to retry.
"""

from __future__ import annotations

import contextlib
import os
import smtplib
import ssl
import time
from collections.abc import Callable
from email.message import EmailMessage

from watcher.exceptions import ConfigError, DeliveryError
from watcher.settings import DeliverySettings


class TokenBucket:
    """Sleep-based token bucket: at most ``rate_per_minute`` messages a minute.

    ``burst`` messages may leave at once after a quiet spell; the clock and
    sleep are injectable so tests can check the waits without waiting.
    """

    def __init__(
        self,
        rate_per_minute: float,
        *,
        burst: int = 1,
        clock: Callable[[], float] = time.monotonic,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        if rate_per_minute <= 0:
            raise ConfigError("delivery.rate_per_minute: must be positive")
        self.rate = rate_per_minute / 60.0  # tokens per second
        self.capacity = max(1, burst)
        self.tokens = float(self.capacity)
        self.clock = clock
        self.sleep = sleep
        self.last = clock()
        self.waited = 0.0

    def acquire(self) -> None:
        now = self.clock()
        self.tokens = min(self.capacity, self.tokens + (now - self.last) * self.rate)
        self.last = now
        if self.tokens < 1:
            wait = (1 - self.tokens) / self.rate
            self.sleep(wait)
            self.waited += wait
            self.last = self.clock()
            self.tokens = 1.0
        self.tokens -= 1


def _tls_context() -> ssl.SSLContext:
    """The system's trusted CAs, hostname checked (tests swap in their own CA)."""
    return ssl.create_default_context()


class TransientError(Exception):
    """The connection broke or timed out: this message failed, the next gets a new one."""


class UncertainError(TransientError):
    """The connection broke or timed out after the message was handed over (after
    DATA): the server may have accepted it, so it must not be sent again blindly."""


class _DataTracking:
    """Notes when the message body has been written after DATA (smtplib's ``data``
    writes the DATA command, then the body, then waits for the final reply).

    The flag belongs to one message: it is cleared when the next transaction
    starts (MAIL FROM), or a failure before DATA on a reused session would be
    blamed on the previous message's DATA and wrongly called uncertain.
    """

    data_written = False
    _writes_in_data: int | None = None

    def mail(self, sender, options=()):  # noqa: ANN001, ANN201 - smtplib's signature
        self.data_written = False
        self._writes_in_data = None
        return super().mail(sender, options)  # type: ignore[misc]

    def data(self, msg):  # noqa: ANN001, ANN201 - smtplib's signature
        self.data_written = False
        self._writes_in_data = 0
        try:
            return super().data(msg)  # type: ignore[misc]
        finally:
            self._writes_in_data = None

    def send(self, s):  # noqa: ANN001, ANN201
        super().send(s)  # type: ignore[misc]
        if self._writes_in_data is not None:
            self._writes_in_data += 1
            if self._writes_in_data >= 2:  # the DATA command, then the message itself
                self.data_written = True


class _SMTP(_DataTracking, smtplib.SMTP):
    pass


class _SMTPSSL(_DataTracking, smtplib.SMTP_SSL):
    pass


class SmtpTransport:
    """One SMTP session reused across messages."""

    def __init__(self, settings: DeliverySettings, *, timeout: float | None = None) -> None:
        if settings.smtp_security not in ("starttls", "tls", "none"):
            raise ConfigError(
                f"delivery.smtp_security: {settings.smtp_security!r} is not one of "
                "starttls, tls, none"
            )
        self.settings = settings
        self.timeout = timeout if timeout is not None else settings.smtp_timeout_s
        self.user = os.environ.get(settings.smtp_user_env, "")
        self.password = os.environ.get(settings.smtp_password_env, "")
        self._smtp: smtplib.SMTP | None = None

    def _connect(self) -> smtplib.SMTP:
        s = self.settings
        context = _tls_context()
        if s.smtp_security == "tls":
            smtp: smtplib.SMTP = _SMTPSSL(
                s.smtp_host, s.smtp_port, timeout=self.timeout, context=context
            )
        else:
            smtp = _SMTP(s.smtp_host, s.smtp_port, timeout=self.timeout)
            if s.smtp_security == "starttls":
                smtp.starttls(context=context)
        if self.user:
            try:
                smtp.login(self.user, self.password)
            except smtplib.SMTPAuthenticationError as exc:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    smtp.quit()
                # Every message would fail the same way: stop the run, say what to fix.
                raise DeliveryError(
                    f"SMTP login refused by {s.smtp_host}:{s.smtp_port}: "
                    f"{exc.smtp_code} {exc.smtp_error!r}",
                    hint=f"check the variables {s.smtp_user_env} and {s.smtp_password_env}",
                ) from None
            except smtplib.SMTPNotSupportedError:
                with contextlib.suppress(smtplib.SMTPException, OSError):
                    smtp.quit()
                raise DeliveryError(
                    f"{s.smtp_host}:{s.smtp_port} offers no SMTP login (AUTH) on this connection",
                    hint="check delivery.smtp_security (starttls or tls), or unset "
                    f"{s.smtp_user_env} for a server that needs no login",
                ) from None
        return smtp

    def send(self, msg: EmailMessage) -> None:
        """Hand the message over; raise SMTPRecipientsRefused / SMTPResponseException
        for a refusal, TransientError when the connection failed before the message
        was written, UncertainError when it failed after."""
        try:
            if self._smtp is None:
                self._smtp = self._connect()
            refused = self._smtp.send_message(msg)
        except (smtplib.SMTPRecipientsRefused, smtplib.SMTPResponseException):
            # After a plain refusal smtplib sends RSET and the session goes on. After a
            # 421 (or a connection lost during that RSET) it has closed its socket
            # itself: forget the session so the next message connects again instead
            # of failing with "please run connect() first".
            if self._smtp is not None and self._smtp.sock is None:
                self._smtp = None
            raise
        except (smtplib.SMTPException, OSError) as exc:
            written = getattr(self._smtp, "data_written", False)
            self.close()
            error = UncertainError if written else TransientError
            raise error(f"{type(exc).__name__}: {exc}") from exc
        if refused:
            raise smtplib.SMTPRecipientsRefused(refused)

    def close(self) -> None:
        if self._smtp is not None:
            with contextlib.suppress(smtplib.SMTPException, OSError):
                self._smtp.quit()
            self._smtp = None
