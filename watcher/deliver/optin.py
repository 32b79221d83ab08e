"""Self-service subscription with double opt-in, and the subscribers' own changes.

1. ``request_subscription`` keeps the form's choices as a pending request (an
   opaque random key) and never looks at the subscribers: the answer and the
   work are the same whether the address is known or not.
2. ``send_confirmation`` mails the address a link signing that key with a
   timestamp (``delivery.confirm_link_hours``). At most
   ``MAX_CONFIRMATIONS_PER_DAY`` such mails go to one mailbox a day (any case,
   any ``+tag``), so the form cannot be used to flood someone's mailbox. Nothing else is ever sent
   to an address that has not confirmed.
3. ``confirm`` creates the subscriber, or gives an existing one (active,
   paused, or one who had left: that is how someone comes back) the request's
   choices.
"""

from __future__ import annotations

import logging
from datetime import timedelta
from email.message import EmailMessage
from email.utils import format_datetime, make_msgid
from typing import Any

from watcher.base.clock import utcnow
from watcher.base.taxonomy import Taxonomy, taxonomy_for
from watcher.deliver.message import MESSAGE_POLICY, body_parts, mailbox, parse_sender
from watcher.deliver.smtp import SmtpTransport
from watcher.deliver.subscribers import checked_address, parse_choices
from watcher.deliver.tokens import LinkExpired, confirm_url, public_base, read_confirm_token
from watcher.publish.render import render
from watcher.settings import Settings
from watcher.store import Store
from watcher.store import delivery as log

logger = logging.getLogger(__name__)

MAX_CONFIRMATIONS_PER_DAY = 3
KEEP_REQUESTS_DAYS = 30  # then even the trace of a request is forgotten
CONFIRM_SUBJECT = "Confirmez votre abonnement à la veille EIT Grand Est"


def request_subscription(
    store: Store,
    email: str,
    themes: Any = None,
    types: Any = None,
    scopes: Any = None,
    *,
    taxonomy: Taxonomy | None = None,
) -> dict[str, Any] | None:
    """A pending request for this address and these choices (ConfigError for a bad
    address or id), or None when the mailbox had its share of confirmation mails
    today (the caller answers the same either way)."""
    address = checked_address(email)
    choices = parse_choices(taxonomy or taxonomy_for(), themes, types, scopes)
    now = utcnow()
    log.purge_requests(store, now - timedelta(days=KEEP_REQUESTS_DAYS))
    recent = log.count_requests(store, address, now - timedelta(days=1))
    request = log.insert_request(store, email=address, **choices)
    return request if recent < MAX_CONFIRMATIONS_PER_DAY else None


def confirmation_message(
    settings: Settings, secret: str, request: dict[str, Any], *, taxonomy: Taxonomy | None = None
) -> EmailMessage:
    names = (taxonomy or taxonomy_for(settings)).names
    context = {
        "confirm_url": confirm_url(settings, secret, request["key"]),
        "hours": settings.delivery.confirm_link_hours,
        "themes": [names["themes"].get(t, t) for t in request["themes"]],
        "types": [names["types"].get(t, t) for t in request["types"]],
        "scopes": [names["scopes"].get(t, t) for t in request["scopes"]],
    }
    html = render("desk/mail/confirm.html", settings, **context)
    text = render("desk/mail/confirm.txt", settings, **context)
    sender = parse_sender(settings.delivery.sender)
    msg = EmailMessage(policy=MESSAGE_POLICY)
    msg["MIME-Version"] = "1.0"
    msg["From"] = sender
    msg["To"] = mailbox(request["email"])
    msg["Subject"] = CONFIRM_SUBJECT
    msg["Date"] = format_datetime(utcnow())
    msg["Message-ID"] = make_msgid(domain=sender.domain)
    msg["Auto-Submitted"] = "auto-generated"
    msg.make_alternative()
    for part in body_parts(html, text):
        msg.attach(part)
    return msg


def send_confirmation(
    settings: Settings, secret: str, request: dict[str, Any], transport: Any = None
) -> bool:
    """Mail the confirmation link; False (and a log line) when the server refused it.
    Runs after the answer went to the browser: nothing here can reach the visitor."""
    if not public_base(settings):
        logger.error("desk.public_url is empty: no confirmation link can be sent")
        return False
    own = transport is None
    transport = transport or SmtpTransport(settings.delivery)
    try:
        transport.send(confirmation_message(settings, secret, request))
        return True
    except Exception as exc:  # noqa: BLE001 - a background task: log, never raise
        logger.error("confirmation mail for request %s not sent: %s", request["id"], exc)
        return False
    finally:
        if own:
            transport.close()


class InvalidLink(Exception):
    """A link we did not sign, or for a request that is gone."""


def pending_request(store: Store, settings: Settings, secret: str, token: str) -> dict[str, Any]:
    """The request a confirmation link is for; LinkExpired or InvalidLink."""
    key = read_confirm_token(secret, token, settings.delivery.confirm_link_hours * 3600)
    request = log.get_request(store, key) if key else None
    if request is None:
        raise InvalidLink
    return request


def confirm(store: Store, settings: Settings, secret: str, token: str) -> dict[str, Any]:
    """The subscriber after confirming (a second click changes nothing more);
    LinkExpired, or InvalidLink."""
    request = pending_request(store, settings, secret, token)
    if request["confirmed_at"] is None:
        log.confirm_request(store, request["key"])
    found = log.get_subscriber(store, email=request["email"])
    if found is None:  # confirmed, then deleted by the team
        raise InvalidLink
    return found


__all__ = [
    "InvalidLink",
    "LinkExpired",
    "confirm",
    "pending_request",
    "request_subscription",
    "send_confirmation",
]
