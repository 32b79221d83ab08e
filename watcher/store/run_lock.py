"""Where a job's lock lives, and a lock that is waited for instead of refused.

``<db>.<what>.lock`` beside an SQLite database, or a lock held in a PostgreSQL
database (whose jobs may start on several machines). Shared by the crawl (which
refuses a second crawl, see :mod:`watcher.collect.lock`) and the send (which waits
for the first send to end).
"""

from __future__ import annotations

import fcntl
import os
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path

from watcher.store import Store
from watcher.store.locking import DatabaseLock, LockBusy


def lock_path(store: Store, fallback_dir: Path, what: str = "crawl") -> Path | DatabaseLock:
    """`<db>.<what>.lock` beside a SQLite database; on PostgreSQL a lock held in the
    database itself, so that it also keeps processes of other machines apart."""
    if getattr(store, "path", None) is not None:
        return store.path.with_name(f"{store.path.name}.{what}.lock")
    if not store.is_sqlite:
        return DatabaseLock(store, what)
    return fallback_dir / f"{what}.lock"


@contextmanager
def waiting_lock(
    path: Path | DatabaseLock,
    *,
    on_wait: Callable[[str], None] | None = None,
    poll_s: float = 0.5,
) -> Iterator[None]:
    """The same lock, waited for instead of refused: held until the block ends.

    ``on_wait(where)`` is called once when another process holds it. For work that
    must run once its other run is over (a send of the bulletin), not be skipped."""
    if isinstance(path, DatabaseLock):
        announced = False
        while True:
            try:
                path.acquire()
                break
            except LockBusy:
                if not announced and on_wait is not None:
                    on_wait(str(path))
                announced = True
                time.sleep(poll_s)
        try:
            yield
        finally:
            path.release()
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            if on_wait is not None:
                on_wait(str(path))
            fcntl.flock(handle, fcntl.LOCK_EX)
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
