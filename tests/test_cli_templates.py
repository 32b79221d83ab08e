"""A user's templates folder (``publish.templates_dir``) through every command
that renders: a folder that is not there, and templates that are broken in
every way (syntax, unknown filter, undefined macro, not UTF-8, a missing
include, a failing expression, a character UTF-8 cannot write) end as one
``Error:`` line naming the setting, or the template's file and line, with
exit status 2; never a traceback nor "this is a bug"."""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
from click.testing import CliRunner, Result

from tests.desk.builder import OLD, WEEK, build_store
from tests.test_cli_bad_input import error_lines
from watcher.cli import main
from watcher.deliver import add_subscriber
from watcher.publish.bulletin import publish_bulletin
from watcher.settings import Settings
from watcher.store import Store


@pytest.fixture(scope="module")
def template_db(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store with WEEK published and one subscriber, built once and copied."""
    path = tmp_path_factory.mktemp("templates") / "template.db"
    with Store(path) as store:
        build_store(store)
        publish_bulletin(store, WEEK, "lea", Settings())
        add_subscriber(store, "lea@example.org", "Léa", themes=["energie"], created_at=OLD)
    return path


def run(tmp: Path, db: Path, args: list[str], templates_dir: Path) -> Result:
    shutil.copy(db, tmp / "watcher.db")
    (tmp / "watcher.toml").write_text(
        f'[publish]\noutput_dir = "{tmp}/output"\nsite_dir = "{tmp}/output/site"\n'
        f'templates_dir = "{templates_dir}"\n',
        encoding="utf-8",
    )
    return CliRunner().invoke(
        main, [*args, "--db", str(tmp / "watcher.db"), "--settings", str(tmp / "watcher.toml")]
    )


def one_error(result: Result) -> str:
    where = f"exit {result.exit_code}\n{result.output}"
    assert not isinstance(result.exception, Exception) or isinstance(
        result.exception, SystemExit
    ), f"{where}\n{result.exception!r}"
    assert "Traceback" not in result.output, where
    assert result.exit_code == 2, where
    lines = error_lines(result.stderr)
    assert len(lines) == 1, where
    assert lines[0].startswith("Error: ") and "bug" not in lines[0], where
    return lines[0]


# (command, the template it renders first)
RENDERING = {
    "site build": (["site", "build"], "site/home.html"),
    "bulletin build": (["bulletin", "build", "--week", WEEK], "bulletin/email.html"),
    "send dry-run": (["send", "--week", WEEK, "--dry-run"], "bulletin/email.txt"),
    "bulletin publish": (
        ["bulletin", "publish", "--week", "2026-W40"],  # then rebuilds the site
        "site/home.html",
    ),
}


@pytest.fixture(autouse=True)
def _quiet(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("WATCHER_DEBUG", "1")  # an unexpected exception reaches the test
    for var in ("WATCHER_SOURCES", "WATCHER_DB", "WATCHER_SETTINGS"):
        monkeypatch.delenv(var, raising=False)


def test_a_good_templates_folder_is_used(template_db, tmp_path):
    """The baseline: the settings and the store below are fine."""
    path = tmp_path / "my-templates" / "bulletin" / "email.txt"
    path.parent.mkdir(parents=True)
    path.write_text("Notre bulletin : {{ bulletin.week }}\n", encoding="utf-8")
    args = RENDERING["bulletin build"][0]
    result = run(tmp_path, template_db, args, tmp_path / "my-templates")
    assert result.exit_code == 0, result.output
    written = tmp_path / "output" / "bulletins" / WEEK / "email.txt"
    assert written.read_text(encoding="utf-8") == f"Notre bulletin : {WEEK}\n"


@pytest.mark.parametrize("kind", ["missing", "file"])
@pytest.mark.parametrize("command", [*RENDERING, "serve"])
def test_a_templates_dir_that_is_not_a_folder_is_refused(
    command, kind, template_db, tmp_path, monkeypatch
):
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda *a, **k: None)
    folder = tmp_path / "my-templates"
    if kind == "file":
        folder.write_text("not a folder\n", encoding="utf-8")
    args = RENDERING[command][0] if command != "serve" else ["serve", "--port", "0"]
    line = one_error(run(tmp_path, template_db, args, folder))
    reason = "no such folder" if kind == "missing" else "is a file, not a folder"
    # `bulletin publish` publishes, then says the site could not be rebuilt.
    assert line.endswith(f"publish.templates_dir = '{folder}': {reason}"), line


@dataclass
class Broken:
    content: bytes
    line: int
    says: str  # the end of the error line


BROKEN = {
    "unclosed-if": Broken(b"<p>\n\n{% if bulletin %}\n<p>oui</p>\n", 4, "'endif'."),
    "unknown-filter": Broken(b"<p>\n{{ 'x' | no_such_filter }}\n", 2, "named 'no_such_filter'."),
    "undefined-macro": Broken(
        b"<p>\n\n{{ no_such_macro(1) }}\n", 3, "'no_such_macro' is undefined"
    ),
    "not-utf8": Broken("<p>\nÉté\n".encode("latin-1"), 2, "not UTF-8 text"),
    "missing-include": Broken(b'<p>\n{% include "nope.html" %}\n', 2, "'nope.html' not found"),
    "failing-expression": Broken(b"<p>\n{{ 1 // 0 }}\n", 2, "ZeroDivisionError: "),
    "bad-filter-input": Broken(b"{{ 'x' | french_date }}\n", 1, "AttributeError: "),
}


@pytest.mark.parametrize("broken", BROKEN)
@pytest.mark.parametrize("command", RENDERING)
def test_a_broken_template_is_named_with_its_line(command, broken, template_db, tmp_path):
    args, template = RENDERING[command]
    case = BROKEN[broken]
    path = tmp_path / "my-templates" / template
    path.parent.mkdir(parents=True)
    path.write_bytes(case.content)
    line = one_error(run(tmp_path, template_db, args, tmp_path / "my-templates"))
    assert line.startswith(f"Error: {path}:{case.line}: ") or (
        command == "bulletin publish" and f": {path}:{case.line}: " in line
    ), line
    assert case.says in line, line


def test_a_template_rendering_what_utf8_cannot_write_is_named(template_db, tmp_path):
    path = tmp_path / "my-templates" / "bulletin" / "email.txt"
    path.parent.mkdir(parents=True)
    path.write_text('Bonjour\n{{ "\\udc80" }}\n', encoding="utf-8")
    args = RENDERING["send dry-run"][0]
    line = one_error(run(tmp_path, template_db, args, tmp_path / "my-templates"))
    assert line == (
        f"Error: {path}: renders '\\udc80', which cannot be written as UTF-8 (line 2 of the output)"
    )


def test_serve_refuses_a_desk_template_that_does_not_compile(template_db, tmp_path, monkeypatch):
    import uvicorn

    monkeypatch.setattr(uvicorn.Server, "run", lambda *a, **k: None)
    path = tmp_path / "my-templates" / "desk" / "week.html"
    path.parent.mkdir(parents=True)
    path.write_text("<p>\n{% for x %}\n", encoding="utf-8")
    line = one_error(
        run(tmp_path, template_db, ["serve", "--port", "0"], tmp_path / "my-templates")
    )
    assert line.startswith(f"Error: {path}:2: expected token 'in'"), line
