"""`send_week`: each active subscriber gets the published bulletin of their themes.

Delivery guarantee: **at most once**. For each message the log row is
committed ``pending`` (attempts + 1) *before* the SMTP transaction and set to
``sent`` right after the server accepted it. A row left ``pending`` means the
process died inside that window: the server may or may not have the message.
We then prefer a rare missed bulletin over a duplicate, so such rows are
reported as *uncertain* and skipped; ``retry_uncertain=True`` (``watcher send
--retry-uncertain``) resends them once someone has checked the server's log.
A refused recipient or a broken connection marks the row ``failed``; the next
run retries it until ``max_attempts``, and the run goes on with the others.
"""

from __future__ import annotations

import smtplib
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from watcher.base.clock import utcnow
from watcher.deliver.message import (
    AddressError,
    body_parts,
    build_message,
    build_subject,
    mailbox,
    parse_sender,
)
from watcher.deliver.smtp import SmtpTransport, TokenBucket, TransientError
from watcher.deliver.tokens import unsubscribe_url
from watcher.exceptions import DeliveryError
from watcher.settings import Settings
from watcher.store import Store
from watcher.store import delivery as log


@dataclass
class Rendered:
    """One subscriber's bulletin, rendered."""

    html: str
    text: str
    items: int
    open_calls: int
    parts: Any = None  # the encoded MIME parts, built on first use and then shared


class WeekMail(Protocol):
    """The published bulletin of a week, able to render any subscriber's cut."""

    week: str
    edition: int
    published_at: datetime

    def render_for(self, subscriber: dict[str, Any]) -> Rendered: ...

    def empty_note(self, subscriber: dict[str, Any]) -> Rendered: ...


class Transport(Protocol):
    def send(self, msg: EmailMessage) -> None: ...

    def close(self) -> None: ...


@dataclass
class DeliveryReport:
    week: str
    edition: int
    dry_run: bool = False
    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # address -> error
    skipped_empty: list[str] = field(default_factory=list)
    already_sent: list[str] = field(default_factory=list)
    uncertain: list[str] = field(default_factory=list)  # pending from a crashed run
    gave_up: list[str] = field(default_factory=list)  # max_attempts reached
    not_yet_subscribed: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)  # dry run: the .eml files
    rate_wait_s: float = 0.0

    def summary(self) -> str:
        if self.dry_run:
            return (
                f"{self.week} edition {self.edition}: {len(self.written)} message(s) written "
                f"(dry run), {len(self.skipped_empty)} subscriber(s) with nothing this week"
            )
        parts = [
            f"{len(self.sent)} sent",
            f"{len(self.failed)} failed",
            f"{len(self.already_sent)} already sent",
            f"{len(self.skipped_empty)} with nothing this week",
        ]
        if self.uncertain:
            parts.append(f"{len(self.uncertain)} uncertain (interrupted run)")
        if self.gave_up:
            parts.append(f"{len(self.gave_up)} given up after max attempts")
        return f"{self.week} edition {self.edition}: " + ", ".join(parts)


def _safe_filename(email: str) -> str:
    return "".join(ch if ch.isalnum() or ch in "@._+-" else "_" for ch in email)


def compose(
    week_mail: WeekMail,
    subscriber: dict[str, Any],
    rendered: Rendered,
    settings: Settings,
    secret: str,
    *,
    now: datetime | None = None,
) -> EmailMessage:
    d = settings.delivery
    sender = parse_sender(d.sender)
    reply_to = parse_sender(d.reply_to) if d.reply_to else None
    base = d.unsubscribe_base_url or settings.publish.public_url
    if rendered.parts is None:
        rendered.parts = body_parts(rendered.html, rendered.text)
    return build_message(
        sender=sender,
        to=mailbox(subscriber["email"], subscriber.get("name") or ""),
        subject=build_subject(week_mail.week, rendered.open_calls),
        html=rendered.html,
        text=rendered.text,
        date=now or utcnow(),
        unsubscribe_mailto=d.unsubscribe_mailto,
        unsubscribe_url=unsubscribe_url(base, secret, subscriber) if base else "",
        reply_to=reply_to,
        week=week_mail.week,
        parts=rendered.parts,
    )


def deliver(
    store: Store,
    week_mail: WeekMail,
    settings: Settings,
    *,
    secret: str,
    dry_run: bool = False,
    out_dir: Path | None = None,
    transport: Transport | None = None,
    bucket: TokenBucket | None = None,
    retry_uncertain: bool = False,
    progress: Callable[[str, str], None] | None = None,
) -> DeliveryReport:
    """The loop behind `send_week`, with the bulletin and the transport given."""
    d = settings.delivery
    report = DeliveryReport(week_mail.week, week_mail.edition, dry_run=dry_run)
    mail_dir = Path(out_dir or settings.publish.output_dir) / "mail" / week_mail.week
    own_transport = transport is None and not dry_run
    if own_transport:
        transport = SmtpTransport(d)
    if bucket is None and not dry_run:
        bucket = TokenBucket(d.rate_per_minute)
    try:
        for sub in log.list_subscribers(store, status="active"):
            email = sub["email"]
            if sub["created_at"] > week_mail.published_at:
                report.not_yet_subscribed.append(email)  # no backlog for newcomers
                continue
            previous = None
            if not dry_run:
                previous = log.get_delivery(store, week_mail.week, week_mail.edition, sub["id"])
                if previous is not None:
                    status = previous["status"]
                    if status in ("sent", "skipped"):
                        report.already_sent.append(email)
                        continue
                    if status == "pending" and not retry_uncertain:
                        report.uncertain.append(email)
                        continue
                    if status == "failed" and previous["attempts"] >= d.max_attempts:
                        report.gave_up.append(email)
                        continue
            rendered = week_mail.render_for(sub)
            if rendered.items == 0:
                if not d.send_empty_note:
                    report.skipped_empty.append(email)
                    if not dry_run:
                        log.record_outcome(
                            store,
                            week=week_mail.week,
                            edition=week_mail.edition,
                            subscriber_id=sub["id"],
                            email=email,
                            status="skipped",
                        )
                    continue
                rendered = week_mail.empty_note(sub)
            try:
                msg = compose(week_mail, sub, rendered, settings, secret)
            except AddressError as exc:
                report.failed[email] = str(exc)
                continue
            if dry_run:
                mail_dir.mkdir(parents=True, exist_ok=True)
                path = mail_dir / f"{_safe_filename(email)}.eml"
                path.write_bytes(msg.as_bytes())
                report.written.append(path)
                continue
            assert transport is not None and bucket is not None
            bucket.acquire()
            row = log.begin_attempt(
                store,
                week=week_mail.week,
                edition=week_mail.edition,
                subscriber_id=sub["id"],
                email=email,
                items=rendered.items,
            )
            message_id = str(msg["Message-ID"])
            try:
                transport.send(msg)
            except smtplib.SMTPRecipientsRefused as exc:
                error = "; ".join(f"{code} {text!r}" for code, text in exc.recipients.values())
                _fail(store, row, report, email, f"refused: {error}", message_id)
            except smtplib.SMTPResponseException as exc:
                _fail(store, row, report, email, f"{exc.smtp_code} {exc.smtp_error!r}", message_id)
            except TransientError as exc:
                _fail(store, row, report, email, str(exc), message_id)
            except DeliveryError as exc:  # e.g. login refused: the whole run stops
                _fail(store, row, report, email, exc.message, message_id)
                raise
            else:
                log.finish_attempt(store, row["id"], status="sent", message_id=message_id)
                report.sent.append(email)
                if progress:
                    progress("sent", email)
    finally:
        if own_transport and transport is not None:
            transport.close()
    if bucket is not None:
        report.rate_wait_s = bucket.waited
    return report


def _fail(
    store: Store,
    row: dict[str, Any],
    report: DeliveryReport,
    email: str,
    error: str,
    message_id: str,
) -> None:
    log.finish_attempt(store, row["id"], status="failed", error=error[:1000], message_id=message_id)
    report.failed[email] = error
