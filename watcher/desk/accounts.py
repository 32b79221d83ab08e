"""Curators' accounts: argon2id password hashes, kept in the store.

Names are compared case-insensitively: ``Marie`` signs in as ``marie`` and no
second account may differ from an existing one only in case."""

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


def check_password(password: str) -> None:
    if len(password or "") < MIN_PASSWORD:
        raise ConfigError(f"password: at least {MIN_PASSWORD} characters")


def check_username(username: str) -> None:
    if not _USERNAME.match(username or ""):
        raise ConfigError(
            f"user name {username!r}: use letters, digits, '.', '_', '@' or '-' (max 100)"
        )


def create_user(store: Store, username: str, password: str) -> int:
    """A new curator; ConfigError for a bad name or a short password, UserError
    when the name (whatever its case) is taken."""
    check_username(username)
    check_password(password)
    return desk_store.insert_user(store, username, _hasher.hash(password))


def set_password(store: Store, username: str, password: str) -> None:
    """A new password; every open session of the account ends."""
    check_password(password)
    if desk_store.get_user(store, username) is None:
        raise desk_store.UserError(f"no user named '{username}'")
    with store.transaction():
        desk_store.update_user(store, username, password_hash=_hasher.hash(password))
        desk_store.end_sessions(store, username)


def authenticate(store: Store, username: str, password: str) -> str | None:
    """The account's own spelling of its name when the password matches (None
    otherwise); the hash is upgraded if its parameters aged."""
    user = desk_store.get_user(store, username or "")
    if user is None:
        # Same work as a real check, so timing does not reveal which names exist.
        with contextlib.suppress(VerificationError):
            _hasher.verify(_DUMMY_HASH, password or "")
        return None
    try:
        _hasher.verify(user["password_hash"], password or "")
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return None
    values = {"last_login": utcnow()}
    if _hasher.check_needs_rehash(user["password_hash"]):
        values["password_hash"] = _hasher.hash(password)
    desk_store.update_user(store, username, **values)
    return user["username"]


def has_accounts(store: Store) -> bool:
    return desk_store.count_users(store) > 0


_DUMMY_HASH = _hasher.hash("not a real password, only here to spend time")
