"""Writes that stay right with several writers at once.

On SQLite one writer at a time is the rule: ``Store.begin()`` takes the
database's write lock when the transaction starts (``BEGIN IMMEDIATE``), so a
read followed by a write in the same transaction sees no other writer between
them. PostgreSQL lets writers run side by side, so each read-modify-write of
the store says what it needs instead:

- ``insert_or_ignore`` / ``upsert``: ``INSERT … ON CONFLICT`` (both engines),
  for rows whose key says it all (a source's run row, an HTTP validator, a mark);
- ``select(…).with_for_update()``: the row read is locked until the transaction
  ends (PostgreSQL; SQLite ignores it and needs nothing more);
- ``lock_key``: a transaction-scoped lock on a name (a week's bulletin, an
  alert's kind and subject) when the row to lock may not exist yet.

``DatabaseLock`` is the longer kind: held by a process for as long as it works
(one scheduler, one crawl at a time per database), in the database itself so
that it holds across machines.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping
from typing import TYPE_CHECKING, Any

from sqlalchemy import Connection, Table, text
from sqlalchemy.dialects import postgresql, sqlite

from watcher.exceptions import StoreError

if TYPE_CHECKING:
    from watcher.store import Store


def _insert(connection: Connection, table: Table) -> Any:
    """The dialect's INSERT, which knows ``ON CONFLICT``."""
    if connection.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def insert_or_ignore(connection: Connection, table: Table, values: Mapping[str, Any]) -> bool:
    """Insert the row unless one with the same key exists; True when it was inserted."""
    statement = (
        _insert(connection, table)
        .values(**values)
        .on_conflict_do_nothing()
        .returning(*table.primary_key.columns)
    )
    # RETURNING, not rowcount: with an implicit RETURNING of the id, psycopg's rowcount
    # says nothing about a row skipped on conflict.
    return connection.execute(statement).first() is not None


def upsert(
    connection: Connection,
    table: Table,
    values: Mapping[str, Any] | list[Mapping[str, Any]],
    key: Iterable[str] | None = None,
) -> None:
    """Insert the row (or rows, all with the same columns), or update the existing one
    with the same ``key`` (default: the primary key) to these values."""
    rows = [values] if isinstance(values, Mapping) else list(values)
    if not rows:
        return
    key_columns = list(key) if key is not None else [c.name for c in table.primary_key.columns]
    statement = _insert(connection, table)
    changes = {name: statement.excluded[name] for name in rows[0] if name not in key_columns}
    if changes:
        statement = statement.on_conflict_do_update(index_elements=key_columns, set_=changes)
    else:
        statement = statement.on_conflict_do_nothing(index_elements=key_columns)
    connection.execute(statement, rows)


def lock_key(connection: Connection, *parts: object) -> None:
    """Hold a lock named by ``parts`` until the transaction ends (PostgreSQL advisory
    lock; on SQLite the transaction already holds the database's write lock)."""
    if connection.dialect.name != "postgresql":
        return
    connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": _advisory_key(*parts)})


def _advisory_key(*parts: object) -> int:
    """A signed 64-bit key for PostgreSQL's advisory locks, from a name."""
    name = "\x1f".join(str(part) for part in parts)
    key = int.from_bytes(hashlib.blake2b(name.encode("utf-8"), digest_size=8).digest(), "big")
    return key - (1 << 63)


class LockBusy(StoreError):
    """Another process holds the database lock."""


class DatabaseLock:
    """A lock named in a PostgreSQL database, held by one session (one process) until
    released or until that process dies: what a lock file is on one machine, for
    processes on several machines sharing the database."""

    def __init__(self, store: Store, name: str) -> None:
        self.store = store
        self.name = name
        self._connection: Connection | None = None

    def __str__(self) -> str:
        return f"the '{self.name}' lock of the database"

    def acquire(self) -> None:
        connection = self.store.engine.connect()
        key = {"key": _advisory_key("watcher", self.name)}
        if not connection.execute(text("SELECT pg_try_advisory_lock(:key)"), key).scalar():
            connection.close()
            raise LockBusy(f"{self} is held by another process")
        connection.commit()
        self._connection = connection

    def release(self) -> None:
        if self._connection is None:
            return
        try:
            self._connection.execute(
                text("SELECT pg_advisory_unlock(:key)"),
                {"key": _advisory_key("watcher", self.name)},
            )
            self._connection.commit()
        finally:
            self._connection.close()
            self._connection = None
