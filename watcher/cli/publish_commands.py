"""CLI commands of the publish stage (registered on `watcher.cli.main`)."""

from __future__ import annotations

import click

from watcher.cli import ISO_WEEK, common_options, handle_errors, main, pass_app


@main.group()
def bulletin() -> None:
    """The weekly bulletin."""


@bulletin.command("build")
@click.option("--week", required=True, type=ISO_WEEK, help="ISO week, e.g. 2026-W48")
@common_options
@handle_errors
@pass_app
def bulletin_build(app, week: str) -> None:  # noqa: ANN001
    """Write a week's bulletin (web page, e-mail HTML + text, per theme) under output/."""
    from watcher.publish.bulletin import write_bulletin

    paths = write_bulletin(app.store, week, app.settings)
    folder = paths[0].parent if paths else app.settings.publish.output_dir
    click.echo(f"bulletin {week}: {len(paths)} files written under {folder}")


@main.group()
def site() -> None:
    """The static archive site."""


@site.command("build")
@common_options
@handle_errors
@pass_app
def site_build(app) -> None:  # noqa: ANN001
    """Build the archive site (pages, feeds, calendars, search index) into output/site/."""
    from watcher.publish.site import build_site

    report = build_site(app.store, app.settings)
    click.echo(report.summary())
    click.echo(
        f"Serve it with:  python -m http.server --directory {report.site_dir} 8000\n"
        "then open http://127.0.0.1:8000/"
    )
