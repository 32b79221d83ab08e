"""Curators' accounts: argon2id password hashes, kept in the store."""

from __future__ import annotations

import contextlib
import re

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from watcher.base.clock import utcnow
from watcher.exceptions import ConfigError
from watcher.store import Store
from watcher.store import desk as desk_store

_hasher = PasswordHasher()  # argon2id with the library's current recommended parameters
_USERNAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,99}$")
MIN_PASSWORD = 8


def create_user(store: Store, username: str, password: str) -> int:
    """A new curator; ConfigError for a bad name or a short password."""
    if not _USERNAME.match(username or ""):
        raise ConfigError(
            f"user name {username!r}: use letters, digits, '.', '_', '@' or '-' (max 100)"
        )
    if len(password or "") < MIN_PASSWORD:
        raise ConfigError(f"password: at least {MIN_PASSWORD} characters")
    return desk_store.insert_user(store, username, _hasher.hash(password))


def authenticate(store: Store, username: str, password: str) -> bool:
    """True when the password matches; the hash is upgraded if its parameters aged."""
    user = desk_store.get_user(store, username or "")
    if user is None:
        # Same work as a real check, so timing does not reveal which names exist.
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password or "")
        return False
    try:
        _hasher.verify(user["password_hash"], password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False
    values = {"last_login": utcnow()}
    if _hasher.check_needs_rehash(user["password_hash"]):
        values["password_hash"] = _hasher.hash(password)
    desk_store.update_user(store, username, **values)
    return True


def has_accounts(store: Store) -> bool:
    return desk_store.count_users(store) > 0


_DUMMY_HASH = _hasher.hash("not a real password, only here to spend time")
