"""CLI commands of the collect stage: collect, sources."""

from __future__ import annotations

import sys

import click

from watcher.cli import App, common_options, creates_database, handle_errors, main, pass_app
from watcher.exceptions import WatcherError


@main.command("collect")
@click.option(
    "--only", "only", multiple=True, metavar="ID", help="collect only this source (repeatable)"
)
@click.option("--quiet", is_flag=True, help="no progress bar")
@common_options
@pass_app
@handle_errors
@creates_database
def collect(app: App, only: tuple[str, ...], quiet: bool) -> None:
    """Collect the enabled sources (or --only some) in one crawl; exit 0 even if some failed."""
    from watcher.collect import run_collect
    from watcher.collect.lock import CrawlBusy
    from watcher.collect.run import select_sources

    sources = app.sources
    select_sources(sources, only)  # an unknown id is refused before a database is created
    try:
        report = run_collect(
            sources,
            db=app.store,
            settings=app.settings,
            only=list(only) or None,
            trigger="cli",
            progress=not quiet and sys.stderr.isatty(),
        )
    except CrawlBusy as exc:
        raise WatcherError(
            f"another crawl is running on this database ({exc})",
            hint="wait for it to finish (`watcher status` shows the scheduler's runs)",
        ) from None
    _print_summary(report)


def _print_summary(report) -> None:  # noqa: ANN001
    from rich.table import Table

    table = Table(title=f"collect run {report.run_id} ({report.status})")
    for column in ("source", "status", "new", "found", "http", "why"):
        table.add_column(column, justify="right" if column in ("new", "found", "http") else "left")
    for source in report.sources:
        why = ""
        if source.error_kind:
            why = f"{source.error_kind}: {(source.error_message or '')[:90]}"
        style = {"failed": "red", "not_modified": "dim", "skipped": "yellow"}.get(source.status)
        table.add_row(
            source.source_id,
            "unchanged" if source.status == "not_modified" else source.status,
            str(source.items_new),
            str(source.items_found),
            str(source.http_status or ""),
            why,
            style=style,
        )
    console = _console()
    console.print(table)
    new = sum(s.items_new for s in report.sources)
    unchanged = sum(1 for s in report.sources if s.status == "not_modified")
    console.print(
        f"{len(report.sources)} sources: {new} new items, {unchanged} unchanged, "
        f"{len(report.failed)} failed."
    )


def _console():  # noqa: ANN202
    from rich.console import Console

    # Piped into a log or a mail, the table keeps its rows on one line.
    return Console(width=None if sys.stdout.isatty() else 200)


@main.group()
def sources() -> None:
    """Check and extend the list of watched sources."""


@sources.command("validate")
@common_options
@pass_app
@handle_errors
def sources_validate(app: App) -> None:
    """Check the sources file; exit status 2 when it is invalid."""
    loaded = app.sources
    enabled = sum(1 for s in loaded.sources if s.enabled)
    click.echo(f"{len(loaded.sources)} sources, {enabled} enabled: the file is valid.")


@sources.command("check")
@common_options
@pass_app
@handle_errors
def sources_check(app: App) -> None:
    """Health of each source: last success, last error, items in 30 days, warnings."""
    from rich.table import Table

    from watcher.store.health import source_health

    table = Table(title="sources")
    for column in ("source", "kind", "last success", "last error", "30 days", "warning"):
        table.add_column(column, justify="right" if column == "30 days" else "left")
    warned = 0
    for row in source_health(app.store, app.sources.sources):
        error = row["last_error"]
        error_text = f"{error['at']:%Y-%m-%d} {error['kind']}" if error else ""
        success = f"{row['last_success']:%Y-%m-%d %H:%M}" if row["last_success"] else "never"
        warnings = "; ".join(row["warnings"])
        warned += bool(warnings)
        table.add_row(
            row["id"] + ("" if row["enabled"] else " (disabled)"),
            row["kind"],
            success,
            error_text,
            str(row["items_30d"]),
            warnings,
            style="yellow" if warnings else None,
        )
    console = _console()
    console.print(table)
    console.print(f"{warned} source(s) need a look.")


@sources.command("add")
@click.argument("url")
@common_options
@pass_app
@handle_errors
def sources_add(app: App, url: str) -> None:
    """Find the feeds of the site at URL and print a sources.yaml entry to paste."""
    from watcher.collect.discover import discover_feeds, yaml_entry
    from watcher.urls import url_problem

    # The entry printed must pass `sources validate`: the same check, before any fetch.
    problem = url_problem(url)
    if problem:
        raise click.BadParameter(f"'{url}' {problem}", param_hint="URL")
    result = discover_feeds(url, app.settings.collect)
    found = len(result["feeds"])
    click.echo(f"# {found} feed(s) found at {url}", err=True)
    click.echo(yaml_entry(result), nl=False)
