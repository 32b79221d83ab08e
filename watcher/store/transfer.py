"""Move a whole installation from one database to another (`watcher migrate-db`).

Typically from SQLite to PostgreSQL when one machine is no longer enough. The
target is migrated to the current schema, must hold no data, and receives
every table in one transaction: a copy that fails half-way leaves it empty,
so running the command again is safe. The source is read in one transaction
too (one consistent snapshot, even while a crawl writes), then the row count
of every table is compared on both sides before the target commits; the
sequences of PostgreSQL's id columns are set past the copied ids.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from sqlalchemy import (
    JSON,
    Column,
    Connection,
    Float,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    Unicode,
    func,
    inspect,
    select,
    text,
)

from watcher.exceptions import StoreError
from watcher.store import Store, database_url
from watcher.store.schema import metadata

BATCH = 2000
# APScheduler's job store lives in the same database; the scheduler creates it at
# its first start, with this definition (apscheduler.jobstores.sqlalchemy).
scheduler_jobs = Table(
    "apscheduler_jobs",
    MetaData(),
    Column("id", Unicode(191), primary_key=True),
    Column("next_run_time", Float(25), index=True),
    Column("job_state", LargeBinary, nullable=False),
)
# Tables of the engines themselves, never copied.
_ENGINE_TABLES = ("alembic_version", "items_fts")


@dataclass
class TransferReport:
    source: str
    target: str
    rows: dict[str, int] = field(default_factory=dict)
    skipped_tables: list[str] = field(default_factory=list)
    nul_removed: int = 0

    @property
    def total(self) -> int:
        return sum(self.rows.values())

    def summary(self) -> str:
        tables = sum(1 for n in self.rows.values() if n)
        return f"copied {self.total:,} rows in {tables} tables; every table's count verified"


def _all_tables() -> list[Table]:
    # Each area module declares its tables on the shared metadata when imported.
    from watcher.store import bulletins, delivery, desk, jobs, labels  # noqa: F401

    return list(metadata.sorted_tables)


def _redacted(url: str) -> str:
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def _open_source(db: str) -> Store:
    url = database_url(db)
    if url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).is_file():
        raise StoreError(f"{db}: no such database to copy from")
    return Store(url)


def _counts(connection: Connection, tables: list[Table]) -> dict[str, int]:
    return {
        t.name: int(connection.execute(select(func.count()).select_from(t)).scalar_one())
        for t in tables
    }


def _without_nul(rows: list[dict], text_columns: list[str]) -> tuple[list[dict], int]:
    """PostgreSQL's text cannot hold NUL characters, which SQLite keeps."""
    removed = 0
    for row in rows:
        for name in text_columns:
            value = row.get(name)
            if isinstance(value, str) and "\x00" in value:
                row[name] = value.replace("\x00", "")
                removed += 1
    return rows, removed


def _reset_sequences(connection: Connection, tables: list[Table]) -> None:
    if connection.dialect.name != "postgresql":
        return  # SQLite's next rowid is max(id) + 1 already
    for table in tables:
        for column in table.primary_key.columns:
            if isinstance(column.type, Integer) and column.autoincrement in (True, "auto"):
                if len(table.primary_key.columns) != 1:
                    continue
                connection.execute(
                    text(
                        "SELECT setval(pg_get_serial_sequence(:table, :column), "
                        f"coalesce((SELECT max({column.name}) FROM {table.name}), 0) + 1, false)"
                    ),
                    {"table": table.name, "column": column.name},
                )


def copy_database(
    source_db: str,
    target_db: str,
    *,
    progress: Callable[[str, int], None] | None = None,
) -> TransferReport:
    """Copy every table of ``source_db`` into the empty ``target_db``; returns the counts."""
    source_url, target_url = database_url(source_db), database_url(target_db)
    if source_url == target_url:
        raise StoreError(f"{_redacted(source_url)}: the source and the target are the same")
    report = TransferReport(_redacted(source_url), _redacted(target_url))
    source = _open_source(source_db)
    try:
        target = Store(target_url)
    except StoreError:
        source.close()
        raise
    try:
        tables = _all_tables()
        known = {t.name for t in tables} | {scheduler_jobs.name}
        source_tables = set(inspect(source.engine).get_table_names())
        report.skipped_tables = sorted(
            name
            for name in source_tables - known
            if not name.startswith(("sqlite_", *_ENGINE_TABLES))
        )
        if scheduler_jobs.name in source_tables:
            tables.append(scheduler_jobs)
        with target.begin() as out:
            scheduler_jobs.create(out, checkfirst=True)
            filled = {name: n for name, n in _counts(out, tables).items() if n}
            if filled:
                listed = ", ".join(
                    f"{name} ({n} row{'s' if n > 1 else ''})" for name, n in sorted(filled.items())
                )
                raise StoreError(
                    f"{report.target}: the target database already holds data: {listed}",
                    hint="migrate-db copies into an empty database only: create a new one "
                    "(createdb), or drop this one if it holds an earlier, partial copy",
                )
            with source.connect() as read:
                _snapshot(read)
                expected = _counts(read, tables)
                for table in tables:
                    report.rows[table.name] = _copy_table(read, out, table, report, progress)
            _reset_sequences(out, tables)
            copied = _counts(out, tables)
            if copied != expected:
                wrong = {n: (expected[n], copied[n]) for n in expected if expected[n] != copied[n]}
                raise StoreError(f"row counts differ after the copy (source, target): {wrong}")
    finally:
        source.close()
        target.close()
    return report


def _snapshot(connection: Connection) -> None:
    """Read every table from one consistent state of the source."""
    if connection.dialect.name == "sqlite":
        connection.exec_driver_sql("BEGIN")  # pysqlite would read each SELECT on its own
    else:
        connection.exec_driver_sql("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")


def _writer(table: Table) -> Table:
    """The table as the copy writes it: a JSON column's None stays SQL NULL (by default
    SQLAlchemy would write the JSON text 'null')."""
    copy = table.to_metadata(MetaData())
    for column in copy.columns:
        if isinstance(column.type, JSON):
            column.type = JSON(none_as_null=True)
    return copy


def _copy_table(
    read: Connection,
    out: Connection,
    table: Table,
    report: TransferReport,
    progress: Callable[[str, int], None] | None,
) -> int:
    text_columns = [c.name for c in table.columns if isinstance(c.type, String | Text)]
    order = list(table.primary_key.columns)
    result = read.execution_options(yield_per=BATCH).execute(select(table).order_by(*order))
    insert = _writer(table).insert()
    count = 0
    for partition in result.partitions():
        rows = [dict(row._mapping) for row in partition]
        if out.dialect.name == "postgresql":
            rows, removed = _without_nul(rows, text_columns)
            report.nul_removed += removed
        out.execute(insert, rows)
        count += len(rows)
        if progress:
            progress(table.name, count)
    return count
