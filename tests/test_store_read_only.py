"""A database this process may not write: the commands that read it work, the
ones that write say so in one line, and nothing is written beside it."""

from __future__ import annotations

import hashlib
import os
import sqlite3
from pathlib import Path

import pytest
from click.testing import CliRunner

from watcher.cli import main
from watcher.deliver import add_subscriber
from watcher.desk.accounts import create_user
from watcher.exceptions import StoreError
from watcher.store import Store
from watcher.store.desk import list_users

PASSWORD = "correct-horse-battery"


@pytest.fixture
def db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A database with a subscriber and a curator, alone in its folder."""
    for var in ("WATCHER_SOURCES", "WATCHER_DB", "WATCHER_SETTINGS", "WATCHER_DEBUG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.chdir(tmp_path)  # no watcher.toml or sources.yaml here
    path = tmp_path / "data" / "watcher.db"
    with Store(path) as store:
        add_subscriber(store, "lea@example.org", "Léa")
        create_user(store, "lea", PASSWORD)
    return path


@pytest.fixture
def read_only(monkeypatch: pytest.MonkeyPatch):  # noqa: ANN201
    """Take the write permission away from files or folders (given back at the end).

    Root writes whatever the mode bits say (CI may run as root), so for root
    os.access, which the store asks, answers as it would for anyone else; the store
    then opens the file in SQLite's read-only mode, which binds root too.
    """
    changed: list[tuple[Path, int]] = []

    def take_away(*paths: Path) -> None:
        for path in paths:
            mode = path.stat().st_mode
            changed.append((path, mode))
            path.chmod(mode & ~0o222)

    if os.geteuid() == 0:
        real_access = os.access

        def access(path, mode, *args, **kwargs):  # noqa: ANN001, ANN202
            if mode & os.W_OK and not os.stat(path).st_mode & 0o200:
                return False
            return real_access(path, mode, *args, **kwargs)

        monkeypatch.setattr(os, "access", access)
    yield take_away
    for path, mode in reversed(changed):
        path.chmod(mode)


def _state(folder: Path) -> dict[str, str]:
    """Each file of the folder and a hash of its bytes."""
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in sorted(folder.iterdir())}


def _invoke(*args: str):  # noqa: ANN202
    return CliRunner().invoke(main, list(args), input="")


@pytest.mark.parametrize("where", ["file", "folder"])
def test_reading_commands_work_on_a_read_only_database(db, read_only, where):
    read_only(db if where == "file" else db.parent)
    before = _state(db.parent)
    status = _invoke("status", "--db", str(db))
    assert status.exit_code == 0, status.output
    assert "Open alerts: 0" in status.stdout
    exported = _invoke("export", "--db", str(db))
    assert exported.exit_code == 0 and exported.stdout == "", exported.output
    listed = _invoke("subscribers", "list", "--db", str(db))
    assert listed.exit_code == 0 and "lea@example.org" in listed.stdout, listed.output
    users = _invoke("users", "list", "--db", str(db))
    assert users.exit_code == 0 and users.stdout.startswith("lea\t"), users.output
    # The same bytes, and in a read-only folder no -wal or -shm beside them.
    after = _state(db.parent)
    assert after == before if where == "folder" else after["watcher.db"] == before["watcher.db"]


@pytest.mark.parametrize("where", ["file", "folder"])
@pytest.mark.parametrize(
    "command",
    [
        ("subscribers", "add", "new@example.org"),  # may create a database: refused at once
        ("subscribers", "remove", "lea@example.org"),
        ("users", "remove", "lea"),
        ("users", "add", "nouvelle", "--password-stdin"),
        ("run", "retention"),
    ],
    ids=" ".join,
)
def test_writing_commands_say_the_database_is_read_only(db, read_only, where, command):
    read_only(db if where == "file" else db.parent)
    before = _state(db.parent)
    result = CliRunner().invoke(main, [*command, "--db", str(db)], input=PASSWORD + "\n")
    assert result.exit_code == 1, result.output
    assert result.stderr.splitlines()[0] == (
        f"Error: {db}: the database is read-only, and this command writes to it"
    )
    assert "Traceback" not in result.output
    if where == "folder":
        assert _state(db.parent) == before
    else:
        assert _state(db.parent)["watcher.db"] == before["watcher.db"]


def test_a_write_that_reaches_sqlite_gets_the_same_line(db, read_only):
    """The safety net: a write SQLite refuses (the rights changed while the store was
    open) is reported like the ones the store refuses itself."""
    read_only(db)
    store = Store(db)
    try:
        store.read_only = False  # as if the file had been writable at open
        with pytest.raises(StoreError, match=r"watcher\.db: the database is read-only"):
            add_subscriber(store, "new@example.org")
        assert [u["username"] for u in list_users(store)] == ["lea"]
    finally:
        store.close()


def test_a_read_only_database_of_an_older_version_is_not_upgraded(db, read_only):
    conn = sqlite3.connect(db)
    with conn:
        conn.execute("UPDATE alembic_version SET version_num = '0001_core'")
    conn.close()
    read_only(db)
    result = _invoke("status", "--db", str(db))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"Error: {db}: the database is read-only, and this version of watcher must first "
        "create or upgrade its tables"
    )


def test_no_new_database_in_a_read_only_folder(tmp_path, read_only, monkeypatch):
    monkeypatch.chdir(tmp_path)
    folder = tmp_path / "data"
    folder.mkdir()
    read_only(folder)
    db = folder / "watcher.db"
    result = _invoke("subscribers", "add", "lea@example.org", "--db", str(db))
    assert result.exit_code == 1
    assert result.stderr.splitlines()[0] == (
        f"Error: {db}: cannot create the database, its folder is read-only"
    )
    assert list(folder.iterdir()) == []
