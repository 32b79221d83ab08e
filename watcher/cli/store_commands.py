"""CLI commands over the store itself: export."""

from __future__ import annotations

import csv
import json
import sys

import click

from watcher.cli import App, common_options, handle_errors, main, pass_app
from watcher.files import csv_row

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
@common_options
@pass_app
@handle_errors
def export(app: App, fmt: str) -> None:
    """Write every stored item to stdout (JSON Lines or CSV)."""
    from watcher.store.items import export_rows

    out = sys.stdout
    if fmt == "jsonl":
        for row in export_rows(app.store):
            out.write(json.dumps(row, ensure_ascii=False) + "\n")
        return
    # RFC 4180's CRLF: the csv module then quotes a field holding a lone CR too.
    writer = csv.DictWriter(out, fieldnames=EXPORT_FIELDS, lineterminator="\r\n")
    writer.writeheader()
    for row in export_rows(app.store):
        row = dict(row)
        row["sources"] = " ".join(row["sources"])
        row["labels"] = json.dumps(row["labels"], ensure_ascii=False) if row["labels"] else ""
        writer.writerow(csv_row(row))  # titles from the web must not run as formulas
