"""What the collect stage remembers between runs: runs and their per-source rows,
the HTTP validators (ETag / Last-Modified), hosts backed off, API tokens and
marks such as the JORF archives already taken."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import delete, insert, select, update

from watcher.models import RunReport, SourceReport
from watcher.store import Store
from watcher.store.locking import insert_or_ignore, upsert
from watcher.store.schema import (
    api_tokens,
    crawl_runs,
    host_backoff,
    http_cache,
    robots_txt,
    seen_marks,
    source_runs,
    sources,
    utcnow,
)

# --- runs -------------------------------------------------------------------------------


def start_run(store: Store, *, trigger: str = "cli", pid: int | None = None) -> int:
    with store.begin() as connection:
        return connection.execute(
            insert(crawl_runs).values(
                started_at=utcnow(), status="running", trigger=trigger, pid=pid
            )
        ).inserted_primary_key[0]


def set_run_pid(store: Store, run_id: int, pid: int) -> None:
    with store.begin() as connection:
        connection.execute(update(crawl_runs).where(crawl_runs.c.id == run_id).values(pid=pid))


def finish_run(store: Store, run_id: int, status: str, *, only_if_running: bool = False) -> None:
    query = update(crawl_runs).where(crawl_runs.c.id == run_id)
    if only_if_running:
        query = query.where(crawl_runs.c.status == "running")
    with store.begin() as connection:
        connection.execute(query.values(status=status, finished_at=utcnow()))


def record_source_run(
    store: Store, run_id: int, report: SourceReport, started_at: datetime
) -> None:
    """One row per source per run; recording it twice keeps the first."""
    with store.begin() as connection:
        insert_or_ignore(
            connection,
            source_runs,
            {
                "run_id": run_id,
                "source_id": report.source_id,
                "started_at": started_at,
                "status": report.status,
                "http_status": report.http_status,
                "error_kind": report.error_kind,
                "error_message": (report.error_message or None) and report.error_message[:2000],
                "duration_s": round(report.duration_s, 3),
                "items_found": report.items_found,
                "items_new": report.items_new,
            },
        )


def recorded_sources(store: Store, run_id: int) -> set[str]:
    with store.connect() as connection:
        return set(
            connection.execute(
                select(source_runs.c.source_id).where(source_runs.c.run_id == run_id)
            ).scalars()
        )


def run_report(store: Store, run_id: int) -> RunReport:
    with store.connect() as connection:
        run = connection.execute(select(crawl_runs).where(crawl_runs.c.id == run_id)).first()
        rows = connection.execute(
            select(source_runs).where(source_runs.c.run_id == run_id).order_by(source_runs.c.id)
        ).all()
    report = RunReport(
        run_id=run_id, started_at=run.started_at, finished_at=run.finished_at, status=run.status
    )
    for row in rows:
        report.sources.append(
            SourceReport(
                source_id=row.source_id,
                status=row.status,
                http_status=row.http_status,
                error_kind=row.error_kind,
                error_message=row.error_message,
                duration_s=row.duration_s,
                items_found=row.items_found,
                items_new=row.items_new,
            )
        )
    return report


def upsert_sources(store: Store, source_list: Iterable[Any]) -> None:
    """Keep the ``sources`` table in step with the sources file (id, name, kind, url…)."""
    now = utcnow()
    with store.begin() as connection:
        for source in source_list:
            upsert(
                connection,
                sources,
                {
                    "id": source.id,
                    "name": source.name,
                    "organisation": source.organisation,
                    "kind": source.kind,
                    "url": source.url,
                    "enabled": source.enabled,
                    "updated_at": now,
                },
            )


# --- HTTP validators ----------------------------------------------------------------------


def get_validators(store: Store, url: str) -> dict[str, str]:
    with store.connect() as connection:
        row = connection.execute(select(http_cache).where(http_cache.c.url == url)).first()
    if row is None:
        return {}
    return {k: v for k, v in (("etag", row.etag), ("last_modified", row.last_modified)) if v}


def validators_for(store: Store, urls: list[str]) -> dict[str, dict[str, str]]:
    """Validators of many URLs in one query (a crawl loads its sources' at start)."""
    found: dict[str, dict[str, str]] = {}
    with store.connect() as connection:
        for start in range(0, len(urls), 500):
            for row in connection.execute(
                select(http_cache).where(http_cache.c.url.in_(urls[start : start + 500]))
            ):
                found[row.url] = {
                    k: v for k, v in (("etag", row.etag), ("last_modified", row.last_modified)) if v
                }
    return found


def save_validators(
    store: Store, url: str, *, etag: str | None, last_modified: str | None, status: int
) -> None:
    with store.begin() as connection:
        if not (etag or last_modified):
            connection.execute(delete(http_cache).where(http_cache.c.url == url))
            return
        upsert(
            connection,
            http_cache,
            {
                "url": url,
                "etag": etag,
                "last_modified": last_modified,
                "status": status,
                "fetched_at": utcnow(),
            },
        )


# --- host back-off ------------------------------------------------------------------------


def backed_off_hosts(store: Store, now: datetime | None = None) -> dict[str, datetime]:
    now = now or utcnow()
    with store.connect() as connection:
        rows = connection.execute(select(host_backoff).where(host_backoff.c.until > now)).all()
    return {row.host: row.until for row in rows}


def back_off_host(store: Store, host: str, hours: float, reason: str) -> datetime:
    until = utcnow() + timedelta(hours=hours)
    with store.begin() as connection:
        upsert(connection, host_backoff, {"host": host, "until": until, "reason": reason[:500]})
    return until


# --- robots.txt ---------------------------------------------------------------------------


def fresh_robots(
    store: Store, max_age: timedelta, now: datetime | None = None
) -> dict[str, tuple[int, bytes]]:
    """``{origin: (status, body)}`` of the robots.txt files fetched less than ``max_age`` ago."""
    since = (now or utcnow()) - max_age
    with store.connect() as connection:
        rows = connection.execute(
            select(robots_txt.c.origin, robots_txt.c.status, robots_txt.c.body).where(
                robots_txt.c.fetched_at > since
            )
        ).all()
    return {row.origin: (row.status, row.body) for row in rows}


def save_robots(
    store: Store, origin: str, status: int, body: bytes, fetched_at: datetime | None = None
) -> None:
    with store.begin() as connection:
        upsert(
            connection,
            robots_txt,
            {
                "origin": origin,
                "status": status,
                "body": body,
                "fetched_at": fetched_at or utcnow(),
            },
        )


# --- API tokens and marks -----------------------------------------------------------------


def get_token(store: Store, source_id: str) -> str | None:
    with store.connect() as connection:
        row = connection.execute(
            select(api_tokens).where(api_tokens.c.source_id == source_id)
        ).first()
    if row is None or row.expires_at <= utcnow():
        return None
    return row.token


def save_token(store: Store, source_id: str, token: str, lifetime: timedelta) -> None:
    with store.begin() as connection:
        upsert(
            connection,
            api_tokens,
            {"source_id": source_id, "token": token, "expires_at": utcnow() + lifetime},
        )


def forget_token(store: Store, source_id: str) -> None:
    with store.begin() as connection:
        connection.execute(delete(api_tokens).where(api_tokens.c.source_id == source_id))


def has_mark(store: Store, source_id: str, mark: str) -> bool:
    with store.connect() as connection:
        return (
            connection.execute(
                select(seen_marks.c.mark).where(
                    seen_marks.c.source_id == source_id, seen_marks.c.mark == mark
                )
            ).first()
            is not None
        )


def marks(store: Store, source_id: str) -> set[str]:
    with store.connect() as connection:
        return set(
            connection.execute(
                select(seen_marks.c.mark).where(seen_marks.c.source_id == source_id)
            ).scalars()
        )


def add_mark(store: Store, source_id: str, mark: str) -> None:
    with store.begin() as connection:
        insert_or_ignore(
            connection, seen_marks, {"source_id": source_id, "mark": mark, "seen_at": utcnow()}
        )
