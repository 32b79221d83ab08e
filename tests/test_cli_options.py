"""--db, --settings and --sources against WATCHER_DB, WATCHER_SETTINGS and
WATCHER_SOURCES: a value typed on the command line wins, wherever it is typed
(before or after the command); the environment only fills what the line left
unset; the default comes last.

The group and every command take these options and each reads the environment
for itself, so the command's value from the environment used to overwrite the
group's explicit one: `WATCHER_DB=other watcher --db real status` ran on other.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from watcher.cli import App, main
from watcher.store import Store

# (option, App field, environment variable)
OPTIONS = [
    ("--db", "db_path", "WATCHER_DB"),
    ("--settings", "settings_path", "WATCHER_SETTINGS"),
    ("--sources", "sources_path", "WATCHER_SOURCES"),
]


def _chosen(args: list[str], env: dict[str, str], field: str) -> object:
    """The value the App ends up with for ``field`` after running ``args``."""
    app = App()
    # The command itself may fail (the paths do not exist): only the choice matters.
    CliRunner().invoke(main, args, env=env, obj=app)
    return getattr(app, field)


def _as_str(value: object) -> str | None:
    return None if value is None else str(value)


@pytest.mark.parametrize(("option", "field", "envvar"), OPTIONS)
def test_group_option_beats_the_environment(tmp_path: Path, option, field, envvar):
    typed, from_env = str(tmp_path / "typed"), str(tmp_path / "env")
    value = _chosen([option, typed, "export"], {envvar: from_env}, field)
    assert _as_str(value) == typed


@pytest.mark.parametrize(("option", "field", "envvar"), OPTIONS)
def test_command_option_beats_the_environment(tmp_path: Path, option, field, envvar):
    typed, from_env = str(tmp_path / "typed"), str(tmp_path / "env")
    value = _chosen(["export", option, typed], {envvar: from_env}, field)
    assert _as_str(value) == typed


@pytest.mark.parametrize(("option", "field", "envvar"), OPTIONS)
def test_nested_command_keeps_the_group_option(tmp_path: Path, option, field, envvar):
    typed, from_env = str(tmp_path / "typed"), str(tmp_path / "env")
    value = _chosen([option, typed, "users", "list"], {envvar: from_env}, field)
    assert _as_str(value) == typed


@pytest.mark.parametrize(("option", "field", "envvar"), OPTIONS)
def test_the_environment_fills_what_the_line_leaves_unset(tmp_path: Path, option, field, envvar):
    from_env = str(tmp_path / "env")
    assert _as_str(_chosen(["export"], {envvar: from_env}, field)) == from_env


@pytest.mark.parametrize(("option", "field", "envvar"), OPTIONS)
def test_the_later_typed_value_wins(tmp_path: Path, option, field, envvar):
    first, second = str(tmp_path / "first"), str(tmp_path / "second")
    value = _chosen([option, first, "export", option, second], {envvar: "x"}, field)
    assert _as_str(value) == second


def test_status_runs_on_the_database_named_on_the_line(tmp_path: Path):
    real = tmp_path / "real.db"
    Store(str(real), create=True).close()
    other = tmp_path / "other.db"
    result = CliRunner().invoke(main, ["--db", str(real), "status"], env={"WATCHER_DB": str(other)})
    assert result.exit_code == 0, result.output
    # The database in the environment was neither used nor created.
    assert not other.exists()
