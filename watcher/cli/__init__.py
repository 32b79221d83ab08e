"""The `watcher` command: a thin layer over the library.

Each command is a few lines that call the library and turn its errors into
clean messages and exit codes: 0 success (a run where some sources failed and
were reported included), 1 the job could not be done, 2 bad usage or invalid
configuration. Commands live in one module per stage and register on `main`.
"""

from __future__ import annotations

import functools
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import click

from watcher import __version__
from watcher.exceptions import ConfigError, WatcherError


class App:
    """What a command needs, loaded on first use: sources, settings, store."""

    def __init__(self) -> None:
        self.sources_path: Path | None = None
        self.db_path: Path | str | None = None
        self.settings_path: Path | None = None
        self._sources = None
        self._settings = None
        self._store = None

    @property
    def sources(self):  # noqa: ANN201 - watcher.config.SourcesFile
        if self._sources is None:
            from watcher.config import load_sources

            self._sources = load_sources(self.sources_path)
        return self._sources

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

            self._store = Store(self.db_path)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()


def _remember(field: str) -> Callable[[click.Context, click.Parameter, Any], Any]:
    def callback(ctx: click.Context, _param: click.Parameter, value: Any) -> Any:
        if value is not None:
            setattr(ctx.ensure_object(App), field, value)
        return value

    return callback


def common_options(command: Callable[..., Any]) -> Callable[..., Any]:
    """--sources, --db and --settings, accepted by the group and by every command."""
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
    ]
    for option in reversed(options):
        command = option(command)
    return command


def handle_errors(command: Callable[..., Any]) -> Callable[..., Any]:
    """Turn library errors into a message on stderr and the contract's exit status."""

    @functools.wraps(command)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return command(*args, **kwargs)
        except WatcherError as exc:
            click.echo(f"Error: {exc}", err=True)
            sys.exit(exc.exit_code)
        except KeyboardInterrupt:
            click.echo("Interrupted.", err=True)
            sys.exit(130)

    return wrapper


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


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
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
    "handle_errors",
    "main",
    "pass_app",
]
