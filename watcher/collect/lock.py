"""One crawl at a time per database: a file lock beside it.

The scheduler, `watcher run collect` and `watcher collect` all take it, so a
manual crawl never overlaps the scheduler's (two crawls would fetch the same
pages twice and race on the same pending items).
"""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any


class CrawlBusy(Exception):
    """Another crawl holds the lock."""


def lock_path(store: Any, fallback_dir: Path, what: str = "crawl") -> Path:
    """`<db>.<what>.lock` beside a SQLite database, else in the output folder."""
    if getattr(store, "path", None) is not None:
        return store.path.with_name(f"{store.path.name}.{what}.lock")
    return fallback_dir / f"{what}.lock"


@contextmanager
def crawl_lock(path: Path) -> Iterator[None]:
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = open(path, "a+")  # noqa: SIM115 - held for the whole crawl
    try:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise CrawlBusy(f"{path} is held by another crawl") from None
        handle.seek(0)
        handle.truncate()
        handle.write(f"{os.getpid()}\n")
        handle.flush()
        yield
    finally:
        handle.close()  # releases the lock
