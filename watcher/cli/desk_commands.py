"""CLI commands of the desk: serve, users."""

from __future__ import annotations

import sys
from pathlib import Path

import click

from watcher.cli import App, common_options, creates_database, handle_errors, main, pass_app
from watcher.exceptions import ConfigError


@main.command()
@common_options
@click.option("--host", default=None, help="address to listen on [default: desk.host, 127.0.0.1]")
@click.option(
    "--port",
    type=click.IntRange(0, 65535),
    default=None,
    help="port, 0 for any free one [default: desk.port, 8765]",
)
@handle_errors
@creates_database
@pass_app
def serve(app: App, host: str | None, port: int | None) -> None:
    """Start the curators' web desk (refuses a non-loopback address without an account)."""
    from watcher.config import DEFAULT_SOURCES_PATH
    from watcher.desk.app import listen
    from watcher.desk.app import serve as run
    from watcher.desk.security import check_bind, check_host
    from watcher.store import missing_sqlite_file

    settings = app.settings
    # The desk works without sources.yaml (the health page then says less).
    sources = app.optional_sources()
    host = host or settings.desk.host
    port = settings.desk.port if port is None else port
    # What can be refused is refused before the store opens, so that it leaves no new
    # database behind: a public address (a new database has no account), an address
    # in use or unknown.
    check_host(host)
    if missing_sqlite_file(app.db_path):
        check_bind(host, 0)
    listening = listen(host, port)
    try:
        run(
            app.store,
            settings,
            host=host,
            port=port,
            sources=sources,
            sources_path=Path(app.sources_path or DEFAULT_SOURCES_PATH),
            listening=listening,
        )
    finally:
        listening.close()


@main.group()
def users() -> None:
    """Curators' accounts of the desk."""


def _password(from_stdin: bool, prompt: str, command: str) -> str:
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    if sys.stdin.isatty():
        return click.prompt(prompt, hide_input=True, confirmation_prompt=True)
    # Piped or redirected stdin (a script, cron, a CI job): the password and its
    # confirmation as two lines, without prompts. click's prompt would end an empty
    # stdin with a bare "Aborted!", and loop on a mismatch.
    first, second = sys.stdin.readline(), sys.stdin.readline()
    if not second:
        raise ConfigError(
            "no password: stdin is not a terminal, and it ended before the password and "
            "its confirmation; give the password on stdin with --password-stdin",
            hint=f"printf '%s\\n' \"$PASSWORD\" | watcher {command} NAME --password-stdin",
        )
    password = first.rstrip("\r\n")
    if password != second.rstrip("\r\n"):
        raise ConfigError("password: the two lines read from stdin differ")
    return password


@users.command("add")
@common_options
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the password from stdin")
@handle_errors
@creates_database
@pass_app
def users_add(app: App, username: str, password_stdin: bool) -> None:
    """Create a curator account (password prompted, or read from stdin)."""
    from watcher.desk.accounts import check_password, check_username, create_user

    # Name and password before the store: a refused one leaves no new database behind.
    check_username(username)
    password = _password(password_stdin, "Password", "users add")
    check_password(password)
    create_user(app.store, username, password)
    click.echo(f"User {username} created.")


@users.command("password")
@common_options
@click.argument("username")
@click.option("--password-stdin", is_flag=True, help="read the new password from stdin")
@handle_errors
@pass_app
def users_password(app: App, username: str, password_stdin: bool) -> None:
    """Set a curator's password (prompted, or read from stdin); their sessions end."""
    from watcher.desk.accounts import set_password

    set_password(app.store, username, _password(password_stdin, "New password", "users password"))
    click.echo(f"Password of {username} changed; their open sessions are closed.")


@users.command("list")
@common_options
@handle_errors
@pass_app
def users_list(app: App) -> None:
    """List curator accounts."""
    from watcher.store.desk import list_users

    for user in list_users(app.store):
        last = user["last_login"].isoformat(timespec="minutes") if user["last_login"] else "never"
        click.echo(f"{user['username']}\tcreated {user['created_at']:%Y-%m-%d}\tlast login {last}")


@users.command("remove")
@common_options
@click.argument("username")
@handle_errors
@pass_app
def users_remove(app: App, username: str) -> None:
    """Delete a curator account (their open sessions end)."""
    from watcher.store.desk import delete_user

    delete_user(app.store, username)
    click.echo(f"User {username} removed.")
