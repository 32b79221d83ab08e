"""CLI commands of the deliver stage: subscribers, send."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from watcher.cli import (
    ISO_WEEK,
    App,
    common_options,
    creates_database,
    handle_errors,
    main,
    pass_app,
)
from watcher.store.delivery import DELIVERY_STATUSES


@main.group()
def subscribers() -> None:
    """E-mail subscribers and their themes."""


@subscribers.command("add")
@common_options
@click.argument("email")
@click.option("--name", default="", help="display name")
@click.option("--themes", default="", help="theme ids separated by commas [default: all]")
@click.option("--types", default="", help="type ids separated by commas [default: all]")
@click.option("--scope", default="", help="scope ids separated by commas [default: all]")
@handle_errors
@creates_database
@pass_app
def subscribers_add(app: App, email: str, name: str, themes: str, types: str, scope: str) -> None:
    """Add a subscriber (who gets the next bulletin, not the backlog); an address
    already there gets these choices instead."""
    from watcher.base.taxonomy import taxonomy_for
    from watcher.deliver.subscribers import checked_address, parse_choices, save_subscriber

    taxonomy = taxonomy_for(app.settings)
    # Checked before the store opens (save_subscriber checks again): a bad address or
    # id must not leave a new, empty database behind.
    checked_address(email)
    parse_choices(taxonomy, themes, types, scope)
    saved = save_subscriber(app.store, email, name, themes, types, scope, taxonomy=taxonomy)
    click.echo(
        {
            "added": f"Subscriber {email} added.",
            "updated": f"Subscriber {email} was there already: themes, types and scope updated.",
            "unchanged": f"Subscriber {email} was there already with these choices: unchanged.",
        }[saved.outcome]
    )


@subscribers.command("update")
@common_options
@click.argument("email")
@click.option("--name", default=None, help="new display name")
@click.option("--themes", default=None, help="theme ids separated by commas, or 'all'")
@click.option("--types", default=None, help="type ids separated by commas, or 'all'")
@click.option("--scope", default=None, help="scope ids separated by commas, or 'all'")
@handle_errors
@pass_app
def subscribers_update(
    app: App,
    email: str,
    name: str | None,
    themes: str | None,
    types: str | None,
    scope: str | None,
) -> None:
    """Change a subscriber's name, themes, types or scope (only the options given)."""
    from watcher.base.taxonomy import taxonomy_for
    from watcher.deliver.subscribers import update_subscriber

    if name is None and themes is None and types is None and scope is None:
        raise click.UsageError("give at least one of --name, --themes, --types, --scope")
    sub = update_subscriber(
        app.store,
        email,
        name=name,
        themes=themes,
        types=types,
        scopes=scope,
        taxonomy=taxonomy_for(app.settings),
    )
    click.echo(
        f"Subscriber {sub['email']} ({sub['status']}): themes "
        f"{','.join(sub['themes']) or 'all'}, types {','.join(sub['types']) or 'all'}, "
        f"scope {','.join(sub['scopes']) or 'all'}."
    )


@subscribers.command("remove")
@common_options
@click.argument("email")
@click.option("--delete", is_flag=True, help="forget the address instead of unsubscribing it")
@handle_errors
@pass_app
def subscribers_remove(app: App, email: str, delete: bool) -> None:
    """Unsubscribe an address (or delete it with --delete)."""
    from watcher.deliver.subscribers import remove_subscriber

    remove_subscriber(app.store, email, delete=delete)
    click.echo(f"Subscriber {email} {'deleted' if delete else 'unsubscribed'}.")


@subscribers.command("list")
@common_options
@click.option("--all", "show_all", is_flag=True, help="include unsubscribed addresses")
@handle_errors
@pass_app
def subscribers_list(app: App, show_all: bool) -> None:
    """List subscribers: address, name, themes, types, scope, status."""
    from watcher.store.delivery import list_subscribers

    rows = list_subscribers(app.store, status=None if show_all else "active")
    for s in rows:
        click.echo(
            "\t".join(
                [
                    s["email"],
                    s["name"],
                    ",".join(s["themes"]) or "all",
                    ",".join(s["types"]) or "all",
                    ",".join(s["scopes"]) or "all",
                    s["status"],
                ]
            )
        )


@subscribers.command("import")
@common_options
@click.argument("file", type=click.Path(path_type=Path))
@handle_errors
@creates_database
@pass_app
def subscribers_import(app: App, file: Path) -> None:
    """Import subscribers from a CSV file (email, name, themes, types, scope)."""
    from watcher.base.taxonomy import taxonomy_for
    from watcher.deliver.subscribers import ImportReport, import_rows, read_csv

    # The file first: one that cannot be read, or without a good row, opens no store
    # (and so creates no database).
    rows, errors = read_csv(file, taxonomy=taxonomy_for(app.settings))
    report = import_rows(app.store, rows, errors) if rows else ImportReport(errors=errors)
    for error in report.errors:
        click.echo(f"Error: {error}", err=True)
    for email in report.left:
        click.echo(f"Not re-subscribed: {email} unsubscribed earlier", err=True)
    click.echo(report.summary())
    if report.errors:
        sys.exit(1)


@main.command()
@common_options
@click.option("--week", required=True, type=ISO_WEEK, help="ISO week, e.g. 2026-W48")
@click.option("--dry-run", is_flag=True, help="write .eml files under OUTPUT/mail/WEEK/ instead")
@click.option(
    "--out",
    "out_dir",
    type=click.Path(path_type=Path),
    default=None,
    help="folder for --dry-run [default: publish.output_dir]",
)
@click.option(
    "--retry-uncertain",
    is_flag=True,
    help="resend messages left 'pending' by an interrupted run (may duplicate)",
)
@handle_errors
@pass_app
def send(app: App, week: str, dry_run: bool, out_dir: Path | None, retry_uncertain: bool) -> None:
    """E-mail the week's published bulletin to each subscriber, cut to their themes."""
    from watcher.deliver import send_week

    report = send_week(
        app.store,
        week,
        app.settings,
        dry_run=dry_run,
        out_dir=out_dir,
        retry_uncertain=retry_uncertain,
        on_wait=lambda lock: click.echo(
            f"Another send is running on this database ({lock} is held): waiting for it to end…",
            err=True,
        ),
    )
    click.echo(report.summary())
    if dry_run and report.written:
        click.echo(f"Messages written to {report.written[0].parent}")
    for email, error in report.failed.items():
        click.echo(f"failed: {email}: {error}", err=True)
    for email in report.uncertain:
        click.echo(
            f"uncertain: {email}: the message may have arrived (the connection broke after "
            "it was handed over, or a run was interrupted); check the SMTP log, then use "
            "--retry-uncertain to resend",
            err=True,
        )
    if report.failed or report.gave_up or report.uncertain:
        sys.exit(1)  # a reader may lack the bulletin: cron and systemd must see it


def delivery_figures(counts: dict[str, int]) -> str:
    """ "1 sent, 2 failed": a week's messages per status, in the order a send goes."""
    return ", ".join(f"{counts[s]} {s}" for s in DELIVERY_STATUSES if counts.get(s))


@main.command()
@common_options
@click.option("--week", type=ISO_WEEK, default=None, help="ISO week [default: the latest sent]")
@click.option(
    "--status",
    "state",
    type=click.Choice(DELIVERY_STATUSES),
    default=None,
    help="only the messages in this state",
)
@handle_errors
@pass_app
def deliveries(app: App, week: str | None, state: str | None) -> None:
    """The delivery log of a week, one message a line (tab-separated): address,
    status, attempts, edition, Message-ID (to find in the SMTP server's log), last error."""
    from watcher.store.delivery import delivery_counts, list_deliveries

    week, counts = delivery_counts(app.store, week)
    if week is None:
        click.echo("No bulletin has been sent yet.")
        return
    click.echo(f"{week}: {delivery_figures(counts) or 'no message'}", err=True)
    for row in list_deliveries(app.store, week=week, status=state):
        click.echo(
            "\t".join(
                [
                    row["email"],
                    row["status"],
                    str(row["attempts"]),
                    str(row["edition"]),
                    row["message_id"] or "-",
                    " ".join((row["last_error"] or "-").split()),
                ]
            )
        )
