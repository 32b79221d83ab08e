"""CLI commands of the collect stage: collect, sources, export."""

from __future__ import annotations

import click

from watcher.cli import App, common_options, handle_errors, main, pass_app


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
