"""Signed unsubscribe tokens: the link in each e-mail, checked by the desk.

The token carries the subscriber's id and address, signed with a secret kept
in the store (or the desk's secret from the environment), so a link cannot be
forged to unsubscribe someone else; no expiry, as an old bulletin's link must
still work.
"""

from __future__ import annotations

import os
from typing import Any

from itsdangerous import BadSignature, URLSafeSerializer

from watcher.settings import Settings
from watcher.store import Store
from watcher.store.desk import get_or_create_secret

_SALT = "watcher.unsubscribe"


def delivery_secret(store: Store, settings: Settings) -> str:
    """The desk's secret from its environment variable, else one kept in the store."""
    return os.environ.get(settings.desk.secret_key_env) or get_or_create_secret(store, "session")


def make_token(secret: str, subscriber: dict[str, Any]) -> str:
    return URLSafeSerializer(secret, salt=_SALT).dumps(
        {"id": subscriber["id"], "email": subscriber["email"]}
    )


def read_token(secret: str, token: str) -> dict[str, Any] | None:
    """The payload, or None when the token was not signed by us."""
    try:
        data = URLSafeSerializer(secret, salt=_SALT).loads(token)
    except BadSignature:
        return None
    if not isinstance(data, dict) or "email" not in data or "id" not in data:
        return None
    return data


def unsubscribe_url(base: str, secret: str, subscriber: dict[str, Any]) -> str:
    return f"{base.rstrip('/')}/desabonnement/{make_token(secret, subscriber)}"
