"""Operations: `watcher status` figures and `watcher backup`.

A backup is a folder ``<backup_dir>/<YYYYMMDD-HHMMSS>/`` holding a consistent
copy of the SQLite database (SQLite's online backup API, safe while the
scheduler writes), a copy of the classifier's model folder, and a
``manifest.json`` (what, when, sizes). ``docs/operations.md`` says how to restore.
"""

from __future__ import annotations

import errno
import json
import os
import shutil
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from watcher import __version__
from watcher.exceptions import ConfigError, WatcherError
from watcher.files import left_by_dead_processes
from watcher.settings import Settings
from watcher.store import Store
from watcher.store import jobs as store_jobs
from watcher.store.delivery import delivery_counts


def week_start(now: datetime, tz: Any) -> datetime:
    local = now.astimezone(tz)
    monday = (local - timedelta(days=local.weekday())).date()
    return datetime(monday.year, monday.month, monday.day, tzinfo=tz).astimezone(UTC)


def status(store: Store, settings: Settings, next_runs: list[dict[str, Any]]) -> dict[str, Any]:
    from zoneinfo import ZoneInfo

    tz = ZoneInfo(settings.schedule.timezone)
    now = datetime.now(UTC)
    raw_rows, raw_bytes = store_jobs.raw_bodies_size(store)
    return {
        "now": now.astimezone(tz),
        "jobs": store_jobs.last_job_runs(store),
        "next_runs": next_runs,
        "store": {
            "url": store.url,
            "bytes": store_jobs.database_bytes(store),
            "raw_bodies": raw_rows,
            "raw_bodies_bytes": raw_bytes,
        },
        "items_this_week": store_jobs.items_since(store, week_start(now, tz)),
        "retention": store_jobs.retention_totals(store),
        "alerts": store_jobs.open_alerts(store),
        "last_send": delivery_counts(store),
    }


@dataclass
class BackupReport:
    folder: Path
    database_bytes: int
    model_files: int = 0
    notes: list[str] = field(default_factory=list)


# A disk (or a quota) that cannot take the backup.
_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG}


def backup(store: Store, settings: Settings, to: Path | None = None) -> BackupReport:
    """Write the backup into a hidden folder beside its target, renamed into place
    at the end: a failed backup (disk full, folder not writable) leaves nothing
    that looks like a backup."""
    stamp = datetime.now(UTC).strftime("%Y%m%d-%H%M%S")
    if to is None:
        _check_backup_dir(settings.schedule.backup_dir)
    folder = Path(to) if to else settings.schedule.backup_dir / stamp
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise WatcherError(
            f"{folder}: already exists and is not an empty folder",
            hint="a backup goes into a new folder; choose another --to",
        )
    partial = folder.with_name(f".{folder.name}.partial-{os.getpid()}")
    try:
        folder.parent.mkdir(parents=True, exist_ok=True)
        # A backup killed half-way left a partial copy of the database: not kept.
        # Only names our backups use: `--to` may point into anybody's folder.
        ours = f".{folder.name}.partial-*" if to else ".[0-9]*-[0-9]*.partial-*"
        for left in left_by_dead_processes(folder.parent, ours).values():
            shutil.rmtree(left, ignore_errors=True)
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir()
    except OSError as exc:
        raise WatcherError(f"{folder}: cannot write a backup there ({exc.strerror})") from None
    try:
        report = _write_backup(store, settings, partial)
        if folder.exists():
            folder.rmdir()
        os.replace(partial, folder)
    except BaseException as exc:
        shutil.rmtree(partial, ignore_errors=True)
        if isinstance(exc, OSError) and exc.errno in _FULL:
            # Name the backup, not the hidden folder it was being written into.
            raise WatcherError(f"{folder}: cannot write the backup ({exc.strerror})") from exc
        raise
    report.folder = folder
    return report


def _check_backup_dir(backup_dir: Path) -> None:
    """ConfigError naming the setting when a file stands where backup_dir (or one of
    its parents) should be a folder: the mkdir's bare "File exists" named neither."""
    for part in (backup_dir, *backup_dir.parents):
        if part.exists():
            if not part.is_dir():
                what = "is a file" if part == backup_dir else f"{part} is a file"
                raise ConfigError(
                    f"schedule.backup_dir = {str(backup_dir)!r}: {what}, where a folder is needed",
                    hint="point schedule.backup_dir at a folder, or give one with --to",
                )
            return


def _write_backup(store: Store, settings: Settings, folder: Path) -> BackupReport:
    db_name = store.path.name if store.path else "watcher.pgdump"
    size = store_jobs.backup_database(store, folder / db_name)
    report = BackupReport(folder=folder, database_bytes=size)
    model_dir = settings.classify.model_dir
    if model_dir.is_dir():
        report.model_files = _copy_folder(model_dir, folder / "model")
    else:
        report.notes.append(f"{model_dir}: no model folder yet (it is rebuilt by training)")
    manifest = {
        "created": datetime.now(UTC).isoformat(timespec="seconds"),
        "watcher_version": __version__,
        "database": db_name,
        "database_bytes": size,
        "model_dir": str(model_dir),
        "model_files": report.model_files,
        "restore": (
            "stop watcher; copy the database over the one --db points at "
            "(delete its -wal and -shm files); copy model/ to classify.model_dir; start"
            if store.path
            else "stop watcher; pg_restore --clean --if-exists --dbname <URL of --db> "
            f"{db_name}; copy model/ to classify.model_dir; start"
        ),
    }
    (folder / "manifest.json").write_text(json.dumps(manifest, indent=2) + "\n", encoding="utf-8")
    return report


def _copy_folder(source: Path, target: Path) -> int:
    """Copy `source` into `target`; returns the number of files. Not shutil.copytree:
    it gathers its failures into one shutil.Error with no errno, so a full disk
    ended as "unexpected Error … this is a bug"; here the first OSError stops."""
    target.mkdir(parents=True)
    count = 0
    for path in sorted(source.rglob("*")):
        dest = target / path.relative_to(source)
        if path.is_dir() and not path.is_symlink():
            dest.mkdir(exist_ok=True)
        else:
            shutil.copy2(path, dest)
            count += 1
    return count


def human_bytes(n: int) -> str:
    size = float(n)
    for unit in ("B", "KB", "MB", "GB"):
        if size < 1024 or unit == "GB":
            return f"{size:.0f} {unit}" if unit == "B" else f"{size:.1f} {unit}"
        size /= 1024
    return f"{n} B"
