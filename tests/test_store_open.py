"""Opening the store: what --db may name, and what the store refuses to touch."""

from __future__ import annotations

import socket
import sqlite3

import pytest
from click.testing import CliRunner

from watcher.cli import main
from watcher.exceptions import ConfigError, StoreError
from watcher.store import Store


def _tables(path) -> list[str]:  # noqa: ANN001
    conn = sqlite3.connect(path)
    try:
        return [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
    finally:
        conn.close()


@pytest.mark.parametrize("db", [":memory:", "sqlite://", "sqlite:///:memory:"])
def test_an_in_memory_database_is_refused(db, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError, match="in-memory database disappears"):
        Store(db)
    assert not list(tmp_path.iterdir())  # no file named ':memory:' either


def test_an_unknown_url_scheme_is_refused():
    with pytest.raises(ConfigError, match="bogus://x: unknown database URL scheme 'bogus'"):
        Store("bogus://x")


@pytest.mark.parametrize(
    ("db", "problem"),
    [
        ("postgresql://u:s3cret@[::1", "its host or port cannot be read"),
        ("postgresql://u@db.example.org:abc/w", "its host or port cannot be read"),
        ("postgresql://u@db.example.org:99999/w", "port 99999 is not in 1-65535"),
        ("sqlite://x:y", "its host or port cannot be read"),
    ],
)
def test_a_malformed_database_url_is_named_not_a_crash(db, problem):
    with pytest.raises(ConfigError) as info:
        Store(db)
    message = str(info.value)
    assert f"not a valid database URL ({problem})" in message
    assert "s3cret" not in message


def test_an_unreachable_postgresql_hides_its_password():
    with pytest.raises(StoreError) as info:
        Store("postgresql://watcher:s3cret@127.0.0.1:1/watcher")
    message = str(info.value)
    assert "s3cret" not in message and "127.0.0.1:1" in message
    assert "\n" not in message.split("\nHint: ")[0]


def test_an_unrelated_sqlite_database_is_left_untouched(tmp_path):
    path = tmp_path / "other.db"
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("CREATE TABLE notes (body TEXT)")
    conn.close()
    with pytest.raises(StoreError, match=r"holds tables \(notes\) but no watcher schema"):
        Store(path)
    assert _tables(path) == ["notes"]


def test_a_text_file_or_a_folder_is_not_a_database(tmp_path):
    text = tmp_path / "notes.txt"
    text.write_text("hello\n" * 100, encoding="utf-8")
    with pytest.raises(
        StoreError, match="notes.txt: cannot open or migrate the database: file is not a database"
    ):
        Store(text)
    with pytest.raises(StoreError, match="is a folder, not a database file"):
        Store(tmp_path)


def test_a_missing_database_is_created_only_when_asked(tmp_path):
    path = tmp_path / "typo" / "deeper" / "watcher.db"
    with pytest.raises(StoreError, match="no database here"):
        Store(path, create=False)
    assert not (tmp_path / "typo").exists()
    store = Store(path)
    assert store.created and path.exists()
    store.close()
    again = Store(path, create=False)
    assert not again.created
    again.close()


def test_read_only_commands_do_not_create_a_database(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    db = str(tmp_path / "typo" / "watcher.db")
    status = CliRunner().invoke(main, ["status", "--db", db])
    assert status.exit_code == 1
    assert status.stderr.startswith(f"Error: {db}: no database here\n")
    assert not (tmp_path / "typo").exists()

    added = CliRunner().invoke(main, ["subscribers", "add", "lea@example.org", "--db", db])
    assert added.exit_code == 0, added.output
    assert f"Note: created a new database at {db}" in added.stderr
    listed = CliRunner().invoke(main, ["subscribers", "list", "--db", db])
    assert listed.exit_code == 0 and "lea@example.org" in listed.stdout


@pytest.fixture
def busy_port():  # noqa: ANN201
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        sock.listen()
        yield sock.getsockname()[1]


@pytest.mark.parametrize(
    ("args", "settings", "error"),
    [
        (
            ["schedule"],
            '[schedule]\ntimezone = "Mars/Olympus"\n',
            "schedule.timezone: unknown timezone 'Mars/Olympus'",
        ),
        (
            ["run", "retention"],
            '[schedule]\ntimezone = "Mars/Olympus"\n',
            "schedule.timezone: unknown timezone 'Mars/Olympus'",
        ),
        (
            ["schedule", "--list"],
            '[schedule]\ntimezone = "Mars/Olympus"\n',
            "schedule.timezone: unknown timezone 'Mars/Olympus'",
        ),
        (
            ["serve", "--host", "192.0.2.1"],
            "",
            "refusing to listen on 192.0.2.1: no curator account exists, so the desk would be "
            "open to anyone on the network",
        ),
        (["serve", "--port", "BUSY"], "", "127.0.0.1:BUSY: cannot listen: Address already in use"),
    ],
    ids=["schedule", "run", "schedule --list", "serve public", "serve busy"],
)
def test_a_command_refused_for_its_settings_creates_no_database(
    args, settings, error, tmp_path, monkeypatch, busy_port
):
    """The commands that may create a database check what they can first."""
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda *a, **k: None)  # never serve for real
    monkeypatch.chdir(tmp_path)
    (tmp_path / "watcher.toml").write_text(settings, encoding="utf-8")
    db = tmp_path / "typo" / "watcher.db"
    args = [arg.replace("BUSY", str(busy_port)) for arg in args]
    result = CliRunner().invoke(main, [*args, "--db", str(db)])
    assert result.exit_code in (1, 2), result.output
    assert result.stderr.splitlines()[0] == "Error: " + error.replace("BUSY", str(busy_port))
    assert not (tmp_path / "typo").exists()


def test_a_database_from_a_newer_version_is_refused_by_name(tmp_path, monkeypatch):
    """A revision this version does not know: said plainly, the database untouched
    (Alembic's own "Can't locate revision" told the operator nothing to do)."""
    path = tmp_path / "watcher.db"
    Store(path).close()
    conn = sqlite3.connect(path)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0099_from_the_future'")
    conn.close()
    with pytest.raises(StoreError, match=r"revision 0099_from_the_future.*newer version"):
        Store(path)
    monkeypatch.setenv("WATCHER_DB", str(path))
    result = CliRunner().invoke(main, ["status"])
    assert result.exit_code != 0
    assert result.output.count("Error:") == 1 and "Traceback" not in result.output
    assert "0099_from_the_future" in result.output and "newer version of watcher" in result.output
    conn = sqlite3.connect(path)
    try:
        assert conn.execute("SELECT version_num FROM alembic_version").fetchall() == [
            ("0099_from_the_future",)
        ]
    finally:
        conn.close()
