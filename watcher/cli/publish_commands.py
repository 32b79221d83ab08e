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


def _rebuild_site(app, done: str) -> None:  # noqa: ANN001
    """Rebuild the archive after ``done`` (already committed): a failure says so."""
    from watcher.exceptions import WatcherError
    from watcher.publish.site import build_site

    try:
        report = build_site(app.store, app.settings)
    except WatcherError as exc:
        error = WatcherError(
            f"{done}, but the site could not be rebuilt: {exc.message}",
            hint="fix that, then `watcher site build`",
        )
        error.exit_code = exc.exit_code  # a broken setting or template is still bad input (2)
        raise error from None
    click.echo(f"site rebuilt in {report.site_dir}: {report.summary()}")


def _edition_command(name: str, *, site_option: bool = True):  # noqa: ANN202
    """A `bulletin` subcommand acting on one week's edition, logged as --user."""

    def decorate(function):  # noqa: ANN001, ANN202
        options = [
            click.option("--week", required=True, type=ISO_WEEK, help="ISO week, e.g. 2026-W48"),
            click.option(
                "--user", default="cli", show_default=True, help="name written in the decisions log"
            ),
        ]
        if site_option:
            options.append(
                click.option("--no-site", is_flag=True, help="do not rebuild the archive site")
            )
        command = pass_app(function)
        command = handle_errors(command)
        command = common_options(command)
        for option in reversed(options):
            command = option(command)
        return bulletin.command(name)(command)

    return decorate


@_edition_command("publish")
def bulletin_publish(app, week: str, user: str, no_site: bool) -> None:  # noqa: ANN001
    """Freeze a week's bulletin as it stands (as the desk's "Publier"), then rebuild the site."""
    from watcher.desk.curation import publish_week

    edition = publish_week(app.store, week, user=user, settings=app.settings)
    click.echo(f"bulletin {week}: edition {edition} published")
    if not no_site:
        _rebuild_site(app, f"bulletin {week} edition {edition} is published")


@_edition_command("unpublish")
def bulletin_unpublish(app, week: str, user: str, no_site: bool) -> None:  # noqa: ANN001
    """Take back a publication before any e-mail of it went out (exit 1 after)."""
    from watcher.desk.curation import withdraw_week

    edition = withdraw_week(app.store, week, user=user)
    click.echo(f"bulletin {week}: edition {edition} is a draft again")
    if not no_site:
        _rebuild_site(app, f"bulletin {week} edition {edition} is a draft again")


@_edition_command("new-edition", site_option=False)
def bulletin_new_edition(app, week: str, user: str) -> None:  # noqa: ANN001
    """Open the next edition of a published week (a correction, sent again to everyone)."""
    from watcher.desk.curation import open_new_edition

    edition = open_new_edition(app.store, week, user=user)
    click.echo(f"bulletin {week}: edition {edition} opened (draft); publish it when corrected")


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
