"""CLI commands over the store itself: export, migrate-db."""

from __future__ import annotations

import csv
import json
import shutil
import sys
import tempfile
from collections.abc import Iterable
from pathlib import Path
from typing import Any, TextIO

import click

from watcher.cli import App, common_options, handle_errors, main, pass_app
from watcher.files import csv_row, replaced_atomically

# Above this, the export waits in a temporary file rather than in memory.
SPOOL_BYTES = 16 * 1024 * 1024

EXPORT_FIELDS = (
    "id",
    "url",
    "title",
    "summary",
    "text",
    "published",
    "first_seen",
    "sources",
    "labels",
)


@main.command("export")
@click.option(
    "--format", "fmt", type=click.Choice(["jsonl", "csv"]), default="jsonl", show_default=True
)
@click.option(
    "-o",
    "--output",
    type=click.Path(dir_okay=False, path_type=Path),
    help="write to FILE, replaced only once the export is complete [default: stdout]",
)
@common_options
@pass_app
@handle_errors
def export(app: App, fmt: str, output: Path | None) -> None:
    """Write every stored item to stdout or a file (JSON Lines or CSV)."""
    from watcher.store.items import export_rows

    rows = export_rows(app.store)
    if output is not None:
        with replaced_atomically(output) as handle:
            count = _write_export(handle, rows, fmt)
        click.echo(f"{count} item(s) written to {output}")
        return
    # Read every row before writing any: a store failing half-way must not leave a
    # header or half the items on stdout, looking like a whole export.
    with tempfile.SpooledTemporaryFile(
        SPOOL_BYTES, mode="w+", encoding="utf-8", newline=""
    ) as spool:
        _write_export(spool, rows, fmt)
        spool.seek(0)
        shutil.copyfileobj(spool, sys.stdout)


def _write_export(out: TextIO, rows: Iterable[dict[str, Any]], fmt: str) -> int:
    """Write the rows in ``fmt``; returns how many."""
    count = 0
    writer = None
    if fmt == "csv":
        # RFC 4180's CRLF: the csv module then quotes a field holding a lone CR too.
        writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\r\n")
        writer.writeheader()
    for row in rows:
        count += 1
        if writer is None:
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
            continue
        row = dict(row)
        row["sources"] = " ".join(row["sources"])
        row["labels"] = json.dumps(row["labels"], ensure_ascii=False) if row["labels"] else ""
        writer.writerow(csv_row(row))  # titles from the web must not run as formulas
    return count


@main.command("migrate-db")
@click.option(
    "--from",
    "source",
    metavar="DB",
    help="database to copy from, path or URL [default: --db / WATCHER_DB]",
)
@click.option(
    "--to",
    "target",
    metavar="URL",
    required=True,
    help="empty database to copy into, e.g. postgresql://user@host/watcher",
)
@common_options
@pass_app
@handle_errors
def migrate_db(app: App, source: str | None, target: str) -> None:
    """Move the whole installation to another database (SQLite to PostgreSQL).

    Stop the scheduler first: what it writes after the copy started stays behind.
    The target must exist and be empty; it is migrated to the current schema, then
    filled in one transaction and every table's row count is checked.
    """
    from watcher.store.transfer import copy_database

    def progress(table: str, rows: int) -> None:
        if rows % 50_000 == 0:
            click.echo(f"  {table}: {rows:,} rows…")

    report = copy_database(source or app.db_path or "", target, progress=progress)
    click.echo(f"{report.source} -> {report.target}")
    for table, rows in report.rows.items():
        if rows:
            click.echo(f"  {table:<18} {rows:>10,}")
    for table in report.skipped_tables:
        click.echo(f"  {table}: not a watcher table, not copied")
    if report.nul_removed:
        click.echo(f"  {report.nul_removed} text value(s) lost NUL characters PostgreSQL refuses")
    click.echo(report.summary().capitalize() + ".")
    click.echo(f"Point --db / WATCHER_DB at {report.target} from now on.")
