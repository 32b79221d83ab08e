"""One crawl at a time per database: a file lock beside it, held by every crawl process
(SQLite), or a lock held in the database (PostgreSQL, whose crawls may start on
several machines).

`watcher collect`, the scheduler and `watcher run collect` all crawl through
:func:`watcher.collect.run_collect`, which takes it, so a manual crawl never overlaps
the scheduler's (two crawls would fetch the same pages twice and race on the same
pending items).

The lock is an ``flock`` on an open file, and the crawl process inherits that open
file: the lock is released only when the last process holding it ends. A ``watcher
collect`` killed with SIGKILL therefore does not free the lock while its crawl process
still runs (and that process stops as soon as it sees its parent gone). The file
records the pids of the holders, for whoever looks.
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import IO

from watcher.store.locking import DatabaseLock, LockBusy


class CrawlBusy(Exception):
    """Another crawl holds the lock."""


class HeldLock:
    """The lock while it is held: its file descriptor is what a child inherits."""

    def __init__(self, handle: IO[str]) -> None:
        self._handle = handle

    def fileno(self) -> int:
        return self._handle.fileno()

    def add_holder(self, pid: int) -> None:
        self._handle.write(f"{pid}\n")
        self._handle.flush()


@contextmanager
def crawl_lock(path: Path | DatabaseLock) -> Iterator[HeldLock | None]:
    if isinstance(path, DatabaseLock):
        # Held by this process's session: nothing for a child to inherit. Should this
        # process die, PostgreSQL frees the lock, and its crawl process stops soon
        # after (it watches its parent).
        try:
            path.acquire()
        except LockBusy:
            raise CrawlBusy(f"{path} is held by another crawl") from None
        try:
            yield None
        finally:
            path.release()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole crawl
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CrawlBusy(f"{path} is held by another crawl") from None
        handle.seek(0)
        handle.truncate()
        held = HeldLock(handle)
        held.add_holder(os.getpid())
        yield held
    finally:
        # Closing, never LOCK_UN: an unlock would free the lock for the crawl process
        # that inherited the same open file and may still be running.
        handle.close()
