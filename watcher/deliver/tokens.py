"""Signed links of the e-mails and of the public subscription pages.

A subscriber's links (manage, unsubscribe) sign the subscriber's opaque random
``key`` (never the address, nor the database id) with the desk's secret: a
link cannot be forged for someone else, shows nothing about its owner, and
never expires, as an old bulletin's link must still work. A confirmation link
(double opt-in) signs a pending request's key with a timestamp and expires
after ``delivery.confirm_link_hours``.

The links point at the public part of the web app (``watcher serve``), under
``desk.public_url`` + ``abonnement/``; without that setting e-mails carry the
mailto unsubscribe only.
"""

from __future__ import annotations

import hmac
import os
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from itsdangerous import BadSignature, SignatureExpired, Signer, TimestampSigner

from watcher.exceptions import ConfigError, DeliveryError
from watcher.settings import Settings
from watcher.store import Store
from watcher.store.desk import get_or_create_secret, get_secret, put_secret

_SUBSCRIBER_SALT = "watcher.subscriber-link"
_CONFIRM_SALT = "watcher.subscribe-confirm"


# A keyed digest of the secret the desk checks links with, kept in the store: it tells
# two secrets apart without keeping either (an environment secret stays out of it).
_DESK_FINGERPRINT = "links-fingerprint"


def _secret(store: Store, settings: Settings) -> str:
    return os.environ.get(settings.desk.secret_key_env) or get_or_create_secret(store, "session")


def _fingerprint(secret: str) -> str:
    return hmac.new(secret.encode("utf-8"), b"watcher.links-fingerprint", "sha256").hexdigest()


def desk_secret(store: Store, settings: Settings) -> str:
    """The desk's secret (sessions, the readers' links): its environment variable,
    else one kept in the store. Its fingerprint is recorded for `delivery_secret`."""
    secret = _secret(store, settings)
    fingerprint = _fingerprint(secret)
    if get_secret(store, _DESK_FINGERPRINT) != fingerprint:
        put_secret(store, _DESK_FINGERPRINT, fingerprint)
    return secret


def delivery_secret(store: Store, settings: Settings) -> str:
    """The secret the e-mails' links are signed with: the desk's, found the same way.

    `watcher send` run without the desk's environment variable (a cron line, a
    shell) would sign with the store's secret, and every link of the bulletin,
    unsubscribing included, would be refused by the desk: DeliveryError instead."""
    secret = _secret(store, settings)
    recorded = get_secret(store, _DESK_FINGERPRINT)
    if recorded is not None and not hmac.compare_digest(recorded, _fingerprint(secret)):
        env = settings.desk.secret_key_env
        mine = f"the secret in {env}" if os.environ.get(env) else f"the database's ({env} unset)"
        raise DeliveryError(
            f"the desk checks the readers' links with another secret than {mine}: the "
            "unsubscribe and manage links of these e-mails would not work; nothing was sent",
            hint=f"give this command the same {env} as `watcher serve` (or unset it for both)",
        )
    return secret


def subscriber_token(secret: str, subscriber: dict[str, Any]) -> str:
    return Signer(secret, salt=_SUBSCRIBER_SALT).sign(subscriber["key"]).decode("ascii")


def read_subscriber_token(secret: str, token: str) -> str | None:
    """The subscriber's key, or None when the token was not signed by us."""
    try:
        return Signer(secret, salt=_SUBSCRIBER_SALT).unsign(token).decode("ascii")
    except (BadSignature, UnicodeError):
        return None


def confirm_token(secret: str, request_key: str) -> str:
    return TimestampSigner(secret, salt=_CONFIRM_SALT).sign(request_key).decode("ascii")


class LinkExpired(Exception):
    """A genuine confirmation link, but too old."""


def read_confirm_token(secret: str, token: str, max_age_s: float) -> str | None:
    """The request's key; None when forged; LinkExpired when older than ``max_age_s``."""
    try:
        return (
            TimestampSigner(secret, salt=_CONFIRM_SALT)
            .unsign(token, max_age=max_age_s)
            .decode("ascii")
        )
    except SignatureExpired:
        raise LinkExpired from None
    except (BadSignature, UnicodeError):
        return None


def is_loopback_http(url: str) -> bool:
    """http on this machine (tests, the demo): the only place plain http is linked."""
    parts = urlsplit(url)
    return parts.scheme == "http" and parts.hostname in ("127.0.0.1", "localhost", "::1")


def public_base(settings: Settings) -> str:
    """``<desk.public_url>/abonnement/``, or "" when the web app has no public address;
    ConfigError unless it is https (or http on this machine, for tests and the demo)."""
    base = settings.desk.subscription_url()
    if base and not (base.startswith("https://") or is_loopback_http(base)):
        raise ConfigError(
            f"desk.public_url: {settings.desk.public_url!r} must be an https:// address "
            "(http only for 127.0.0.1 or localhost): the e-mails' links go there"
        )
    if base and (not base.isascii() or any(ch in base for ch in ' <>"\r\n\t,')):
        raise ConfigError(f"desk.public_url: {settings.desk.public_url!r} is not a plain URL")
    return base


@dataclass(frozen=True)
class SubscriberLinks:
    manage: str = ""
    unsubscribe: str = ""


def subscriber_links(
    settings: Settings, secret: str, subscriber: dict[str, Any]
) -> SubscriberLinks:
    base = public_base(settings)
    if not base:
        return SubscriberLinks()
    token = subscriber_token(secret, subscriber)
    return SubscriberLinks(manage=f"{base}gerer/{token}", unsubscribe=f"{base}desabonner/{token}")


def confirm_url(settings: Settings, secret: str, request_key: str) -> str:
    return f"{public_base(settings)}confirmer/{confirm_token(secret, request_key)}"
