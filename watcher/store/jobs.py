"""Scheduler and operations tables: job runs, alerts, retention log, backups.

``job_runs`` keeps one row per execution of a scheduled job (started, finished,
outcome, detail), so ``watcher status`` can say when each job last ran and how
it went. ``alerts`` holds what the team must hear about; one open alert per
(kind, subject), seen again and again until its cause clears, and sent once in
a digest. ``retention_log`` records what the nightly retention dropped, so
nothing is purged silently.

The scheduler's own job store (APScheduler's ``apscheduler_jobs`` table) lives
in the same database but is created and managed by APScheduler.
"""

from __future__ import annotations

import errno
import os
import sqlite3
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    and_,
    delete,
    func,
    insert,
    select,
    update,
)

from watcher.store import Store
from watcher.store.bulletins import bulletins
from watcher.store.locking import lock_key
from watcher.store.schema import (
    UtcDateTime,
    crawl_runs,
    items,
    metadata,
    raw_bodies,
    source_runs,
    utcnow,
)

job_runs = Table(
    "job_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("job_id", String(40), nullable=False),
    Column("trigger", String(20), nullable=False, default="schedule"),  # schedule | manual
    Column("started_at", UtcDateTime, nullable=False, default=utcnow),
    Column("finished_at", UtcDateTime),
    # running | ok | skipped | failed | killed | interrupted
    Column("outcome", String(20), nullable=False, default="running"),
    Column("detail", Text, nullable=False, default=""),
    Index("ix_job_runs_job", "job_id", "started_at"),
)

alerts = Table(
    "alerts",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    # source_failing | source_silent | crawl_timeout | send_failures | disk_full | job_failed…
    Column("kind", String(40), nullable=False),
    Column("subject", String(200), nullable=False, default=""),
    Column("detail", Text, nullable=False, default=""),
    Column("first_seen", UtcDateTime, nullable=False, default=utcnow),
    Column("last_seen", UtcDateTime, nullable=False, default=utcnow),
    Column("count", Integer, nullable=False, default=1),
    Column("digested_at", UtcDateTime),  # when it went out in the team's digest
    Column("resolved_at", UtcDateTime),  # when its cause cleared
    Index("ix_alerts_open", "resolved_at", "kind", "subject"),
)

retention_log = Table(
    "retention_log",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("ran_at", UtcDateTime, nullable=False, default=utcnow),
    Column("older_than", UtcDateTime, nullable=False),
    Column("rows_dropped", Integer, nullable=False, default=0),
    Column("bytes_dropped", Integer, nullable=False, default=0),
)


# --- job runs ---------------------------------------------------------------------------


def start_job_run(store: Store, job_id: str, *, trigger: str = "schedule") -> int:
    with store.begin() as conn:
        result = conn.execute(
            insert(job_runs).values(
                job_id=job_id, trigger=trigger, started_at=utcnow(), outcome="running", detail=""
            )
        )
        return int(result.inserted_primary_key[0])


def finish_job_run(store: Store, run_id: int, outcome: str, detail: str = "") -> None:
    with store.begin() as conn:
        conn.execute(
            update(job_runs)
            .where(job_runs.c.id == run_id)
            .values(finished_at=utcnow(), outcome=outcome, detail=detail[:4000])
        )


def interrupt_running_jobs(store: Store) -> int:
    """Rows left 'running' by a process that died: marked interrupted, at start-up."""
    with store.begin() as conn:
        result = conn.execute(
            update(job_runs)
            .where(job_runs.c.outcome == "running")
            .values(finished_at=utcnow(), outcome="interrupted", detail="process stopped mid-run")
        )
        return result.rowcount or 0


def last_job_runs(store: Store) -> dict[str, dict[str, Any]]:
    """The latest run of each job id."""
    latest = (
        select(job_runs.c.job_id, func.max(job_runs.c.id).label("id"))
        .group_by(job_runs.c.job_id)
        .subquery()
    )
    query = select(job_runs).join(latest, job_runs.c.id == latest.c.id)
    with store.connect() as conn:
        return {row.job_id: dict(row._mapping) for row in conn.execute(query)}


def first_start(store: Store, job_id: str) -> datetime | None:
    """When a job first ran (None: never)."""
    query = select(func.min(job_runs.c.started_at)).where(job_runs.c.job_id == job_id)
    with store.connect() as conn:
        return conn.execute(query).scalar()


def finished_runs(store: Store, job_id: str, since: datetime) -> list[dict[str, Any]]:
    """The runs of a job started since ``since`` and no longer running, oldest first."""
    query = (
        select(job_runs.c.started_at, job_runs.c.outcome, job_runs.c.trigger)
        .where(
            and_(
                job_runs.c.job_id == job_id,
                job_runs.c.outcome != "running",
                job_runs.c.started_at >= since,
            )
        )
        .order_by(job_runs.c.started_at)
    )
    with store.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def job_history(store: Store, job_id: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    query = select(job_runs).order_by(job_runs.c.id.desc()).limit(limit)
    if job_id:
        query = query.where(job_runs.c.job_id == job_id)
    with store.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def last_success(store: Store, job_id: str) -> datetime | None:
    query = select(func.max(job_runs.c.started_at)).where(
        and_(job_runs.c.job_id == job_id, job_runs.c.outcome == "ok")
    )
    with store.connect() as conn:
        return conn.execute(query).scalar()


# --- sources' runs (written by the collect stage, read here) ------------------------------


def last_source_attempts(store: Store) -> dict[str, datetime]:
    """When each source was last attempted (any outcome but 'skipped')."""
    query = (
        select(source_runs.c.source_id, func.max(source_runs.c.started_at))
        .where(source_runs.c.status != "skipped")
        .group_by(source_runs.c.source_id)
    )
    with store.connect() as conn:
        return {row[0]: row[1] for row in conn.execute(query)}


def last_source_runs(store: Store) -> dict[str, datetime]:
    """When each source last had a run row, whatever its status (skipped included)."""
    query = select(source_runs.c.source_id, func.max(source_runs.c.started_at)).group_by(
        source_runs.c.source_id
    )
    with store.connect() as conn:
        return {row[0]: row[1] for row in conn.execute(query)}


def last_source_successes(store: Store) -> dict[str, datetime]:
    query = (
        select(source_runs.c.source_id, func.max(source_runs.c.started_at))
        .where(source_runs.c.status.in_(("ok", "not_modified")))
        .group_by(source_runs.c.source_id)
    )
    with store.connect() as conn:
        return {row[0]: row[1] for row in conn.execute(query)}


def recent_source_statuses(store: Store, limit: int) -> dict[str, list[dict[str, Any]]]:
    """The last ``limit`` attempted runs of each source, newest first."""
    query = (
        select(
            source_runs.c.source_id,
            source_runs.c.status,
            source_runs.c.error_kind,
            source_runs.c.error_message,
            source_runs.c.started_at,
        )
        .where(source_runs.c.status != "skipped")
        .order_by(source_runs.c.source_id, source_runs.c.started_at.desc(), source_runs.c.id.desc())
    )
    out: dict[str, list[dict[str, Any]]] = {}
    with store.connect() as conn:
        for row in conn.execute(query):
            runs = out.setdefault(row.source_id, [])
            if len(runs) < limit:
                runs.append(dict(row._mapping))
    return out


def crawl_runs_since(store: Store, since: datetime) -> list[dict[str, Any]]:
    query = select(crawl_runs).where(crawl_runs.c.started_at >= since).order_by(crawl_runs.c.id)
    with store.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


# --- alerts -----------------------------------------------------------------------------


def raise_alert(
    store: Store, kind: str, subject: str, detail: str, *, now: datetime | None = None
) -> bool:
    """Open an alert, or refresh the open one of the same kind and subject; True if new."""
    now = now or utcnow()
    where = and_(alerts.c.kind == kind, alerts.c.subject == subject, alerts.c.resolved_at.is_(None))
    with store.begin() as conn:
        lock_key(conn, "alert", kind, subject)  # one open alert per kind and subject
        row = conn.execute(select(alerts.c.id).where(where)).first()
        if row:
            conn.execute(
                update(alerts)
                .where(alerts.c.id == row.id)
                .values(last_seen=now, detail=detail, count=alerts.c.count + 1)
            )
            return False
        conn.execute(
            insert(alerts).values(
                kind=kind, subject=subject, detail=detail, first_seen=now, last_seen=now, count=1
            )
        )
        return True


def resolve_alerts(
    store: Store, kind: str, subject: str | None = None, *, now: datetime | None = None
) -> int:
    where = and_(alerts.c.kind == kind, alerts.c.resolved_at.is_(None))
    if subject is not None:
        where = and_(where, alerts.c.subject == subject)
    with store.begin() as conn:
        result = conn.execute(update(alerts).where(where).values(resolved_at=now or utcnow()))
        return result.rowcount or 0


def open_alerts(store: Store) -> list[dict[str, Any]]:
    """Alerts whose cause has not cleared, newest first (the desk shows them)."""
    query = select(alerts).where(alerts.c.resolved_at.is_(None)).order_by(alerts.c.last_seen.desc())
    with store.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def undigested_alerts(store: Store) -> list[dict[str, Any]]:
    """Alerts not yet sent to the team, resolved or not (a crawl killed at night counts)."""
    query = select(alerts).where(alerts.c.digested_at.is_(None)).order_by(alerts.c.first_seen)
    with store.connect() as conn:
        return [dict(row._mapping) for row in conn.execute(query)]


def mark_digested(store: Store, alert_ids: list[int], *, now: datetime | None = None) -> None:
    if not alert_ids:
        return
    with store.begin() as conn:
        conn.execute(
            update(alerts).where(alerts.c.id.in_(alert_ids)).values(digested_at=now or utcnow())
        )


# --- retention --------------------------------------------------------------------------


def drop_raw_bodies(store: Store, older_than: datetime) -> tuple[int, int]:
    """Delete raw downloaded bodies fetched before ``older_than``; items stay. Logged."""
    where = raw_bodies.c.fetched_at < older_than
    with store.begin() as conn:
        rows, size = conn.execute(
            select(func.count(), func.coalesce(func.sum(func.length(raw_bodies.c.body)), 0)).where(
                where
            )
        ).one()
        conn.execute(delete(raw_bodies).where(where))
        conn.execute(
            insert(retention_log).values(
                ran_at=utcnow(),
                older_than=older_than,
                rows_dropped=int(rows),
                bytes_dropped=int(size),
            )
        )
    return int(rows), int(size)


def retention_totals(store: Store) -> dict[str, Any]:
    query = select(
        func.count(),
        func.coalesce(func.sum(retention_log.c.rows_dropped), 0),
        func.coalesce(func.sum(retention_log.c.bytes_dropped), 0),
        func.max(retention_log.c.ran_at),
    )
    with store.connect() as conn:
        runs, rows, size, last = conn.execute(query).one()
    return {"runs": int(runs), "rows_dropped": int(rows), "bytes_dropped": int(size), "last": last}


# --- figures for `watcher status` ----------------------------------------------------------


def items_since(store: Store, since: datetime) -> int:
    with store.connect() as conn:
        return int(
            conn.execute(select(func.count()).where(items.c.first_seen >= since)).scalar() or 0
        )


def raw_bodies_size(store: Store) -> tuple[int, int]:
    query = select(func.count(), func.coalesce(func.sum(func.length(raw_bodies.c.body)), 0))
    with store.connect() as conn:
        rows, size = conn.execute(query).one()
    return int(rows), int(size)


def database_files(store: Store) -> list[Path]:
    if store.path is None:
        return []
    candidates = [store.path, Path(f"{store.path}-wal"), Path(f"{store.path}-shm")]
    return [p for p in candidates if p.exists()]


def database_bytes(store: Store) -> int:
    """The database's size on disk: its files (SQLite) or what the server reports."""
    if store.is_sqlite:
        return sum(p.stat().st_size for p in database_files(store))
    with store.connect() as conn:
        return int(conn.execute(select(func.pg_database_size(func.current_database()))).scalar())


# --- backup -----------------------------------------------------------------------------


def backup_database(store: Store, target: Path) -> int:
    """A consistent copy of the database: SQLite's online backup API, or pg_dump.

    Safe while the scheduler or a crawl writes: SQLite copies a snapshot page by
    page and restarts the copy if the source changes under it.
    """
    if store.path is None:
        return _dump_postgresql(store, target)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    partial.unlink(missing_ok=True)
    # The store's own connection: it opens a read-only database the way that works.
    source = store.engine.raw_connection()
    try:
        dest = sqlite3.connect(str(partial))
        try:
            source.driver_connection.backup(dest, pages=1024)
            dest.execute("PRAGMA journal_mode=DELETE")
            ok = dest.execute("PRAGMA integrity_check").fetchone()[0]
        except sqlite3.OperationalError as exc:
            if exc.sqlite_errorcode != sqlite3.SQLITE_FULL:
                raise
            # The copy's disk is full: an OSError naming the file, like any other
            # write (it was an "unexpected OperationalError", said to be a bug).
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC), str(target)) from exc
        finally:
            dest.close()
    finally:
        source.close()
    if ok != "ok":
        partial.unlink(missing_ok=True)
        from watcher.exceptions import StoreError

        raise StoreError(f"{target}: the copy failed its integrity check: {ok}")
    partial.replace(target)
    return target.stat().st_size


def _dump_postgresql(store: Store, target: Path) -> int:
    """``pg_dump --format=custom`` of the database (restore with ``pg_restore``)."""
    import shutil
    import subprocess

    from sqlalchemy.engine import make_url

    from watcher.exceptions import StoreError

    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        from watcher.store.pg_cluster import find_bindir

        bindir = find_bindir()
        pg_dump = str(bindir / "pg_dump") if bindir else None
    if pg_dump is None:
        raise StoreError(
            f"{store.shown}: pg_dump is needed to back up a PostgreSQL database",
            hint="install the Debian package postgresql-client",
        )
    # libpq's spelling of the URL, without SQLAlchemy's driver name. The password goes
    # through the environment: on the command line any user of the machine reads it
    # in `ps` for as long as the dump runs (URL.set ignores None: hence _replace).
    url = make_url(store.url)
    libpq_url = url._replace(drivername="postgresql", password=None).render_as_string(False)
    env = dict(os.environ)
    if url.password is not None:
        env["PGPASSWORD"] = str(url.password)
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".partial")
    result = subprocess.run(
        [pg_dump, "--format=custom", "--file", str(partial), "--dbname", libpq_url],
        capture_output=True,
        text=True,
        check=False,
        env=env,
    )
    if result.returncode != 0:
        partial.unlink(missing_ok=True)
        raise StoreError(f"{target}: pg_dump failed: {result.stderr.strip()[-1000:]}")
    partial.replace(target)
    return target.stat().st_size


def last_publication(store: Store) -> datetime | None:
    """When a bulletin was last published, or None."""
    with store.connect() as conn:
        return conn.execute(select(func.max(bulletins.c.published_at))).scalar()


def prune_job_runs(store: Store, older_than: timedelta) -> int:
    """Old 'nothing due' ticks only: outcomes that matter are kept."""
    with store.begin() as conn:
        result = conn.execute(
            delete(job_runs).where(
                and_(job_runs.c.outcome == "skipped", job_runs.c.started_at < utcnow() - older_than)
            )
        )
        return result.rowcount or 0
