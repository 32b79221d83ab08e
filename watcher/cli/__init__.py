"""The `watcher` command: a thin layer over the library.

Each command is a few lines that call the library and turn its errors into
clean messages and exit codes: 0 success (a run where some sources failed and
were reported included), 1 the job could not be done, 2 bad usage or invalid
configuration. Commands live in one module per stage and register on `main`.

Every failure ends as one ``Error:`` line on stderr (and a ``Hint:`` when one
helps): a ``WatcherError`` with its own message, an ``OSError`` on a file with
the file and the system's reason. Anything else is a bug: the safety net in
``WatcherGroup`` still prints one line and exits 1, and ``--debug`` (or
``WATCHER_DEBUG=1``) shows its traceback instead.
"""

from __future__ import annotations

import contextlib
import errno
import functools
import os
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any, NoReturn

import click
from click import ParameterSource

from watcher import __version__
from watcher.exceptions import ConfigError, WatcherError


class App:
    """What a command needs, loaded on first use: sources, settings, store."""

    def __init__(self) -> None:
        self.sources_path: Path | None = None
        self.db_path: Path | str | None = None
        self.settings_path: Path | None = None
        self.debug = False
        # Set by @creates_database: only these commands may make a new database file.
        self.creates_database = False
        # Set by @creates_database too: those commands write (collect, serve, schedule…),
        # so a read-only database is refused before they start working.
        self.writes_database = False
        # The fields given on the command line: the environment never replaces them.
        self.from_command_line: set[str] = set()
        self._sources = None
        self._settings = None
        self._store = None

    @property
    def sources(self):  # noqa: ANN201 - watcher.config.SourcesFile
        if self._sources is None:
            from watcher.base.taxonomy import taxonomy_for
            from watcher.config import load_sources

            themes = taxonomy_for(self.settings).ids("themes")
            self._sources = load_sources(self.sources_path, themes)
        return self._sources

    def optional_sources(self):  # noqa: ANN201 - watcher.config.SourcesFile | None
        """The sources, or None when there is no sources file (commands that work
        without it: the desk, classify); a file that exists must be valid."""
        from watcher.config import DEFAULT_SOURCES_PATH

        path = Path(self.sources_path or os.environ.get("WATCHER_SOURCES") or DEFAULT_SOURCES_PATH)
        if not path.exists():
            return None
        return self.sources

    @property
    def settings(self):  # noqa: ANN201 - watcher.settings.Settings
        if self._settings is None:
            from watcher.settings import load_settings

            self._settings = load_settings(self.settings_path)
        return self._settings

    @property
    def store(self):  # noqa: ANN201 - watcher.store.Store
        if self._store is None:
            from watcher.store import Store

            # A broken settings file is the first thing to fix: say so before
            # complaining about a database its [store] section may be about.
            self.settings  # noqa: B018

            store = Store(self.db_path, create=self.creates_database)
            if self.writes_database and store.read_only:
                store.close()
                raise store.read_only_error()
            self._store = store
            if store.created:
                click.echo(f"Note: created a new database at {store.path}", err=True)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def _remember(field: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    """Store an option's value on the App, the command line first.

    These options are taken by the group and again by every command, and each
    level reads the environment for itself: without this order the command's
    value from WATCHER_DB would overwrite the ``--db`` given to the group, and
    a command would run on a database nobody named on the line. So a value
    typed on the line (at any level) is never replaced by one from the
    environment or a default; those only fill what the line left unset.
    """

    def callback(ctx: click.Context, param: click.Parameter, value: Any) -> Any:
        if value is None:
            return value
        app = ctx.ensure_object(App)
        typed = param.name is not None and (
            ctx.get_parameter_source(param.name) is ParameterSource.COMMANDLINE
        )
        if typed:
            setattr(app, field, value)
            app.from_command_line.add(field)
        elif field not in app.from_command_line:
            setattr(app, field, value)
        return value

    return callback


def common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--sources, --db, --settings and --debug, accepted by the group and by every command."""
    options = [
        click.option(
            "--sources",
            type=click.Path(path_type=Path),
            envvar="WATCHER_SOURCES",
            expose_value=False,
            callback=_remember("sources_path"),
            help="sources file [default: ./sources.yaml; env WATCHER_SOURCES]",
        ),
        click.option(
            "--db",
            type=str,
            envvar="WATCHER_DB",
            expose_value=False,
            callback=_remember("db_path"),
            help="database path or URL [default: ./output/watcher.db; env WATCHER_DB]",
        ),
        click.option(
            "--settings",
            type=click.Path(path_type=Path),
            envvar="WATCHER_SETTINGS",
            expose_value=False,
            callback=_remember("settings_path"),
            help="settings file [default: ./watcher.toml if present; env WATCHER_SETTINGS]",
        ),
        click.option(
            "--debug",
            is_flag=True,
            default=None,
            expose_value=False,
            callback=_remember("debug"),
            help="show the traceback of an unexpected error [env WATCHER_DEBUG=1]",
        ),
    ]
    for option in reversed(options):
        command = option(command)
    return command


def creates_database(command: Callable[..., Any]) -> Callable[..., Any]:
    """Mark a command that may create a new database (collect, users add…), and
    that writes to it; every other command refuses a --db path where no database
    exists."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        app = click.get_current_context().ensure_object(App)
        app.creates_database = app.writes_database = True
        return command(*args, **kwargs)

    return wrapper


def _debugging() -> bool:
    ctx = click.get_current_context(silent=True)
    app = ctx.find_object(App) if ctx else None
    env = os.environ.get("WATCHER_DEBUG", "").strip().lower() not in ("", "0", "false", "no")
    return env or bool(app and app.debug)


def _os_reason(exc: OSError) -> str:
    if isinstance(exc, FileExistsError) and Path(exc.filename).is_file():
        return "is a file, where a folder is needed"
    if isinstance(exc, NotADirectoryError):
        return "not a folder (a part of this path is a file)"
    return exc.strerror or str(exc)


_WRITE_ERRNOS = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EIO}


def _database_failure(exc: BaseException) -> bool:
    """An error the database reported about itself (SQLAlchemy's OperationalError:
    "no such table", "disk I/O error", "database disk image is malformed", a lost
    connection), as opposed to one about a statement (integrity, programming)."""
    if not type(exc).__module__.startswith("sqlalchemy"):
        return False  # SQLAlchemy is not imported for commands that do not need it
    from sqlalchemy.exc import DatabaseError, OperationalError

    return isinstance(exc, OperationalError) or type(exc) is DatabaseError


def _database_name() -> str:
    ctx = click.get_current_context(silent=True)
    app = ctx.find_object(App) if ctx else None
    store = app._store if app else None  # noqa: SLF001 - the one that failed, if opened
    return store.shown if store is not None else "database"


def fail(exc: BaseException) -> NoReturn:
    """One line on stderr and the contract's exit status, for any exception."""
    if isinstance(exc, WatcherError):
        click.echo(f"Error: {exc}", err=True)
        sys.exit(exc.exit_code)
    if isinstance(exc, KeyboardInterrupt):
        click.echo("Interrupted.", err=True)
        sys.exit(130)
    if isinstance(exc, BrokenPipeError):
        # `watcher export | head`: the reader has what it wanted; say nothing, and
        # keep Python from complaining again while it flushes stdout at exit.
        with contextlib.suppress(OSError, ValueError):  # not a real file (tests)
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        sys.exit(1)
    if isinstance(exc, OSError) and exc.filename is None and exc.errno in _WRITE_ERRNOS:
        # `watcher export > /dev/full`: stdout could not take the output; keep
        # Python from failing again while it flushes stdout at exit.
        with contextlib.suppress(OSError, ValueError):
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        click.echo(f"Error: cannot write the output: {exc.strerror}", err=True)
        sys.exit(1)
    if isinstance(exc, OSError) and exc.filename is not None:
        # A folder that cannot be created, a full disk, a file in the way:
        # the operator's environment, not a bug; the path says where.
        click.echo(f"Error: {exc.filename}: {_os_reason(exc)}", err=True)
        sys.exit(1)
    if _debugging():
        raise exc
    if _database_failure(exc):
        # A damaged or vanished table, a disk error, a lost server: the database's
        # state, not a bug of the command (--debug above still shows the traceback).
        from watcher.store import BUSY_TIMEOUT_S
        from watcher.store.read_only import is_busy_error

        reason = (str(getattr(exc, "orig", exc)).strip().splitlines() or ["?"])[0][:200]
        if is_busy_error(exc):  # another process (a crawl, the desk, a send) held the lock
            click.echo(
                f"Error: {_database_name()}: busy: another process kept the database "
                f"locked for {BUSY_TIMEOUT_S:g} s; the step this command was on was not "
                "saved (nothing is half-written): run it again once the other is done",
                err=True,
            )
            sys.exit(1)
        click.echo(f"Error: {_database_name()}: the database failed: {reason}", err=True)
        sys.exit(1)
    first_line = (str(exc).strip().splitlines() or [""])[0][:200]
    click.echo(
        f"Error: unexpected {type(exc).__name__}: {first_line} "
        "(this is a bug; `watcher --debug …` or WATCHER_DEBUG=1 shows the traceback)",
        err=True,
    )
    sys.exit(1)


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into a message on stderr and the contract's exit status."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001 - every failure ends as one line
            fail(exc)
        except KeyboardInterrupt as exc:
            fail(exc)

    return wrapper


class WatcherGroup(click.Group):
    """The top group: the safety net for what happens outside a command's body
    (option callbacks, closing the store) or in a command without @handle_errors."""

    def invoke(self, ctx: click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except (click.exceptions.ClickException, click.exceptions.Exit, click.Abort):
            raise
        except Exception as exc:  # noqa: BLE001
            fail(exc)


pass_app = click.make_pass_decorator(App, ensure=True)


class IsoWeekType(click.ParamType):
    """An ISO week such as 2026-W48 (ASCII digits), read by ``watcher.base.weeks``;
    anything else is a usage error (exit 2) naming the option."""

    name = "week"

    def convert(self, value: Any, param: click.Parameter | None, ctx: click.Context | None) -> str:
        from watcher.base.weeks import parse_week
        from watcher.exceptions import WeekError

        try:
            parse_week(value)
        except WeekError as exc:
            self.fail(f"{exc.message.removeprefix('week ')}", param, ctx)
        return value


ISO_WEEK = IsoWeekType()


@click.group(cls=WatcherGroup, context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="watcher")
@common_options
@click.pass_context
def main(ctx: click.Context) -> None:
    """Regulatory and technical watch of the Grand Est EIT network."""
    app = ctx.ensure_object(App)
    ctx.call_on_close(app.close)


def register_all() -> None:
    # Imported for their side effect of adding commands to `main`.
    from watcher.cli import (  # noqa: F401
        classify_commands,
        collect_commands,
        deliver_commands,
        demo_commands,
        desk_commands,
        publish_commands,
        schedule_commands,
        store_commands,
    )


register_all()

__all__ = [
    "ISO_WEEK",
    "App",
    "ConfigError",
    "common_options",
    "creates_database",
    "fail",
    "handle_errors",
    "main",
    "pass_app",
]
