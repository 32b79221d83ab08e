"""`send_week`: each active subscriber gets the published bulletin of their themes.

Delivery guarantee: **at most once**. For each message the log row is
committed ``pending`` (attempts + 1) *before* the SMTP transaction and set to
``sent`` right after the server accepted it. Once the message has been written
after DATA, the server may have it even if its reply never comes: a connection
that drops then, or a reply later than ``smtp_timeout_s``, marks the row
``uncertain``, and a row left ``pending`` means the process died inside that
window. We prefer a rare missed bulletin over a duplicate, so both are reported
as *uncertain* and skipped; ``retry_uncertain=True`` (``watcher send
--retry-uncertain``) resends them once someone has checked the server's log.
A refused recipient, or a connection that broke before the message was written,
marks the row ``failed``; the next run retries it until ``max_attempts``, and
the run goes on with the others. A run with ``retry_permanent=False`` (the
scheduler's automatic retries) leaves out the rows a server refused for good
(a 5xx reply: an unknown mailbox does not heal), reported in ``refused``; a
manual ``watcher send --week`` still retries them.

Bodies are rendered once per cut of the bulletin (subscribers share few
distinct choices) with placeholders for each subscriber's own links, which
are filled in per message.
"""

from __future__ import annotations

import re
import smtplib
import threading
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.message import EmailMessage
from pathlib import Path
from typing import Any, Protocol

from watcher.base.clean import clean_text
from watcher.base.clock import utcnow
from watcher.deliver.message import (
    AddressError,
    body_parts,
    build_message,
    build_subject,
    mailbox,
    parse_sender,
)
from watcher.deliver.smtp import SmtpTransport, TokenBucket, TransientError, UncertainError
from watcher.deliver.tokens import SubscriberLinks, subscriber_links
from watcher.exceptions import DeliveryError
from watcher.files import write_atomically
from watcher.settings import Settings
from watcher.store import Store
from watcher.store import delivery as log

# What the templates get instead of a subscriber's links; `Rendered.personal` swaps them.
LINK_SLOTS = SubscriberLinks(manage="@@lien-gerer@@", unsubscribe="@@lien-desabonner@@")

# A failed row's error that is a permanent refusal: "refused: 550 5.1.1 ...", "554 ...".
_PERMANENT = re.compile(r"^(?:refused: )?5\d\d\b")


def permanent_failure(error: str | None) -> bool:
    """The server refused this message for good (a 5xx reply): retrying will not help."""
    return bool(error) and _PERMANENT.match(error) is not None


@dataclass
class Rendered:
    """One cut of the bulletin, rendered (with LINK_SLOTS for the personal links)."""

    html: str
    text: str
    items: int
    open_calls: int

    def personal(self, links: SubscriberLinks) -> tuple[str, str]:
        """(html, text) with this subscriber's links in place of the slots."""
        html, text = self.html, self.text
        for slot, link in (
            (LINK_SLOTS.manage, links.manage),
            (LINK_SLOTS.unsubscribe, links.unsubscribe),
        ):
            html, text = html.replace(slot, link), text.replace(slot, link)
        return html, text


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
    # broke after DATA in this run, or left pending/uncertain by an earlier one
    uncertain: list[str] = field(default_factory=list)
    gave_up: list[str] = field(default_factory=list)  # max_attempts reached
    # refused for good (5xx) before, not tried again (``retry_permanent=False``)
    refused: list[str] = field(default_factory=list)
    not_yet_subscribed: list[str] = field(default_factory=list)
    # unsubscribed, paused or deleted after the run started, before their turn
    left: list[str] = field(default_factory=list)
    written: list[Path] = field(default_factory=list)  # dry run: the .eml files
    rate_wait_s: float = 0.0
    # asked to stop (the scheduler stopping): readers not reached yet, for the next run
    not_reached: list[str] = field(default_factory=list)

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
            parts.append(f"{len(self.uncertain)} uncertain (may have arrived; not resent)")
        if self.gave_up:
            parts.append(f"{len(self.gave_up)} given up after max attempts")
        if self.refused:
            parts.append(f"{len(self.refused)} refused for good (5xx; not retried)")
        if self.left:
            parts.append(f"{len(self.left)} left the list during the run (not sent)")
        if self.not_reached:
            parts.append(f"stopped before {len(self.not_reached)} reader(s), for the next run")
        return f"{self.week} edition {self.edition}: " + ", ".join(parts)


def _reply(text: bytes | str) -> str:
    """A server's reply as one readable line for the log and the desk (it is the
    server's text, not ours: decoded leniently, control characters dropped, capped)."""
    if isinstance(text, bytes):
        text = text.decode("utf-8", "replace")
    return clean_text(text)[:300]


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
    links = subscriber_links(settings, secret, subscriber)
    html, text = rendered.personal(links)
    return build_message(
        sender=parse_sender(d.sender),
        to=mailbox(subscriber["email"], subscriber.get("name") or ""),
        subject=build_subject(week_mail.week, rendered.open_calls),
        html=html,
        text=text,
        date=now or utcnow(),
        unsubscribe_mailto=d.unsubscribe_mailto,
        unsubscribe_url=links.unsubscribe,
        reply_to=parse_sender(d.reply_to) if d.reply_to else None,
        week=week_mail.week,
        parts=body_parts(html, text),
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
    retry_permanent: bool = True,
    progress: Callable[[str, str], None] | None = None,
    stop: threading.Event | None = None,
) -> DeliveryReport:
    """The loop behind `send_week`, with the bulletin and the transport given.

    ``stop`` set (the scheduler stopping) ends the run between two messages; the
    readers not reached yet are in ``report.not_reached``, for the next run."""
    own_transport = transport is None and not dry_run
    if own_transport:
        transport = SmtpTransport(settings.delivery)
    if bucket is None and not dry_run:
        bucket = TokenBucket(settings.delivery.rate_per_minute)
    run = _Run(
        store,
        week_mail,
        settings,
        secret,
        DeliveryReport(week_mail.week, week_mail.edition, dry_run=dry_run),
        mail_dir=Path(out_dir or settings.publish.output_dir) / "mail" / week_mail.week,
        transport=transport,
        bucket=bucket,
        retry_uncertain=retry_uncertain,
        retry_permanent=retry_permanent,
        progress=progress,
    )
    try:
        readers = log.list_subscribers(store, status="active")
        for n, listed in enumerate(readers):
            if stop is not None and stop.is_set():
                run.report.not_reached = [r["email"] for r in readers[n:]]
                break
            # Read again at their turn: a reader who changed their themes, types or
            # scope while the run went through the list gets the cut they asked for.
            subscriber = log.get_subscriber(store, subscriber_id=listed["id"])
            if subscriber is None or subscriber["status"] != "active":
                run.report.left.append(listed["email"])
                continue
            run.deliver_to(subscriber)
    finally:
        if own_transport and transport is not None:
            transport.close()
    if bucket is not None:
        run.report.rate_wait_s = bucket.waited
    return run.report


@dataclass
class _Run:
    """One run of `deliver`: what to do for each subscriber, and the report."""

    store: Store
    week_mail: WeekMail
    settings: Settings
    secret: str
    report: DeliveryReport
    mail_dir: Path
    transport: Transport | None
    bucket: TokenBucket | None
    retry_uncertain: bool
    retry_permanent: bool
    progress: Callable[[str, str], None] | None
    # Each subscriber's delivery row as read before deciding to send: the send claims
    # it only if it is still so (another `watcher send` at the same time may not).
    seen: dict[int, dict[str, Any] | None] = field(default_factory=dict)

    def deliver_to(self, subscriber: dict[str, Any]) -> None:
        email = subscriber["email"]
        skipped = self.skip_reason(subscriber)
        if skipped:
            getattr(self.report, skipped).append(email)
            return
        rendered = self.content_for(subscriber)
        if rendered is None:
            return
        try:
            msg = compose(self.week_mail, subscriber, rendered, self.settings, self.secret)
        except AddressError as exc:
            self.report.failed[email] = str(exc)
            return
        if self.report.dry_run:
            self.write_eml(email, msg)
        else:
            self.send(subscriber, msg, rendered.items)

    def skip_reason(self, subscriber: dict[str, Any]) -> str | None:
        """The report's list this subscriber goes to without a message, if any."""
        if subscriber["created_at"] > self.week_mail.published_at:
            return "not_yet_subscribed"  # no backlog for newcomers
        if self.report.dry_run:
            return None
        week = self.week_mail
        previous = log.get_delivery(self.store, week.week, week.edition, subscriber["id"])
        self.seen[subscriber["id"]] = previous
        status = previous["status"] if previous else None
        if status in ("sent", "skipped"):
            return "already_sent"
        if status in ("pending", "uncertain") and not self.retry_uncertain:
            return "uncertain"
        if status == "failed" and previous["attempts"] >= self.settings.delivery.max_attempts:
            return "gave_up"
        if (
            status == "failed"
            and not self.retry_permanent
            and permanent_failure(previous["last_error"])
        ):
            return "refused"
        return None

    def content_for(self, subscriber: dict[str, Any]) -> Rendered | None:
        """Their cut of the bulletin; when it is empty, the short note (if configured)
        or None after logging them as skipped."""
        rendered = self.week_mail.render_for(subscriber)
        if rendered.items:
            return rendered
        if self.settings.delivery.send_empty_note:
            return self.week_mail.empty_note(subscriber)
        self.report.skipped_empty.append(subscriber["email"])
        if not self.report.dry_run:
            log.record_outcome(
                self.store,
                week=self.week_mail.week,
                edition=self.week_mail.edition,
                subscriber_id=subscriber["id"],
                email=subscriber["email"],
                status="skipped",
                published_at=self.week_mail.published_at,
            )
        return None

    def write_eml(self, email: str, msg: EmailMessage) -> None:
        path = self.mail_dir / f"{_safe_filename(email)}.eml"
        # Whole or not at all: a full disk used to leave a message cut in half.
        write_atomically(path, msg.as_bytes())
        self.report.written.append(path)

    def send(self, subscriber: dict[str, Any], msg: EmailMessage, items: int) -> None:
        """One SMTP transaction, logged pending before and sent/failed/uncertain after."""
        assert self.transport is not None and self.bucket is not None
        email = subscriber["email"]
        self.bucket.acquire()
        row = log.begin_attempt(
            self.store,
            week=self.week_mail.week,
            edition=self.week_mail.edition,
            subscriber_id=subscriber["id"],
            email=email,
            items=items,
            seen=self.seen.get(subscriber["id"]),
            published_at=self.week_mail.published_at,
        )
        if row is None:
            now = log.get_subscriber(self.store, subscriber_id=subscriber["id"])
            if now is None or now["status"] != "active":  # left while the run went on
                self.report.left.append(email)
            else:  # another `watcher send` running at the same time took it
                self.report.already_sent.append(email)
            return
        message_id = str(msg["Message-ID"])
        try:
            self.transport.send(msg)
        except smtplib.SMTPRecipientsRefused as exc:
            error = "; ".join(f"{code} {_reply(text)}" for code, text in exc.recipients.values())
            self.finish(row, email, "failed", f"refused: {error}", message_id)
        except smtplib.SMTPResponseException as exc:
            reply = f"{exc.smtp_code} {_reply(exc.smtp_error)}"
            self.finish(row, email, "failed", reply, message_id)
        except UncertainError as exc:
            self.finish(row, email, "uncertain", f"after DATA: {exc}", message_id)
        except TransientError as exc:
            self.finish(row, email, "failed", str(exc), message_id)
        except DeliveryError as exc:  # e.g. login refused: the whole run stops
            self.finish(row, email, "failed", exc.message, message_id)
            raise
        else:
            self.finish(row, email, "sent", None, message_id)

    def finish(
        self, row: dict[str, Any], email: str, status: str, error: str | None, message_id: str
    ) -> None:
        log.finish_attempt(
            self.store,
            row["id"],
            status=status,
            error=error[:1000] if error else None,
            message_id=message_id,
        )
        if status == "sent":
            self.report.sent.append(email)
        elif status == "uncertain":
            self.report.uncertain.append(email)
        else:
            self.report.failed[email] = error or status
        if self.progress:
            self.progress(status, email)
