"""Read-only databases: read them, and refuse every write in one clear line.

A database file this process may not write (its mode, a folder it may not
write, a read-only mount, the immutable flag) is still worth reading:
`status`, `export`, `subscribers list`… SQLite would refuse to open it in
read-write mode, or open it and fail at the first write with a bare "attempt
to write a readonly database". So the store opens such a file in SQLite's
read-only mode, and a write says that the database is read-only and names it.
"""

from __future__ import annotations

import os
import sqlite3
from pathlib import Path

# SQLite's primary result code; the extended ones (SQLITE_READONLY_DBMOVED…) share it.
SQLITE_READONLY = 8
SQLITE_BUSY, SQLITE_LOCKED = 5, 6  # another connection holds the lock
# PostgreSQL's read_only_sql_transaction: a hot standby, default_transaction_read_only.
PG_READ_ONLY = "25006"


def sqlite_writable(path: Path) -> bool:
    """Whether this process may write the database file and create the -wal, -shm
    and journal files SQLite writes beside it (os.access knows root's rights, the
    immutable flag and read-only mounts; the mode bits alone do not)."""
    return os.access(path, os.W_OK) and os.access(path.parent, os.W_OK)


def read_only_uri(path: Path) -> str:
    """The SQLite URI that opens the existing ``path`` without writing to it.

    ``mode=ro`` still needs the -shm file of a WAL database, which SQLite cannot
    create in a folder it may not write. With neither -wal nor -shm there, no
    writer has the database open (they exist while one does) and the file holds
    all of it: ``immutable=1`` reads it without them.
    """
    uri = path.as_uri()
    companions = (path.with_name(path.name + suffix) for suffix in ("-wal", "-shm"))
    if not os.access(path.parent, os.W_OK) and not any(p.exists() for p in companions):
        return f"{uri}?immutable=1"
    return f"{uri}?mode=ro"


def is_read_only_error(exc: BaseException | None) -> bool:
    """A driver's refusal to write: the file turned out read-only after all (a
    permission changed while the store was open, a mount remounted read-only),
    or a PostgreSQL session that may only read."""
    if isinstance(exc, sqlite3.Error):
        return (getattr(exc, "sqlite_errorcode", 0) & 0xFF) == SQLITE_READONLY
    return getattr(exc, "sqlstate", None) == PG_READ_ONLY


def is_busy_error(exc: BaseException | None) -> bool:
    """SQLite's lock held by another process past the busy timeout (SQLAlchemy's
    error or the driver's): a wait that ran out, not damage; the transaction was
    rolled back whole."""
    orig = getattr(exc, "orig", exc)
    if not isinstance(orig, sqlite3.Error):
        return False
    return (getattr(orig, "sqlite_errorcode", 0) & 0xFF) in (SQLITE_BUSY, SQLITE_LOCKED)
