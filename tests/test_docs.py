"""The docs stay honest: every command and every setting is documented."""

from __future__ import annotations

import click

from tests.shared import ROOT
from watcher.cli import main
from watcher.settings import example_toml


def _command_paths(group: click.Group, prefix: str = "watcher") -> list[str]:
    paths = []
    for name, command in group.commands.items():
        path = f"{prefix} {name}"
        paths.append(path)
        if isinstance(command, click.Group):
            paths.extend(_command_paths(command, path))
    return paths


def _docs_text() -> str:
    parts = [(ROOT / "README.md").read_text(encoding="utf-8")]
    parts += [p.read_text(encoding="utf-8") for p in sorted((ROOT / "docs").glob("*.md"))]
    return "\n".join(parts)


def test_every_command_is_documented():
    text = _docs_text()
    missing = [path for path in _command_paths(main) if path not in text]
    assert not missing, f"commands missing from README.md and docs/: {missing}"


def test_example_settings_file_is_current():
    committed = (ROOT / "watcher.example.toml").read_text(encoding="utf-8")
    assert committed == example_toml(), (
        "watcher.example.toml is stale: run `python -m watcher.settings > watcher.example.toml`"
    )


def test_readme_and_ci_run_the_same_test_command():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    ci = (ROOT / ".ci" / "run").read_text(encoding="utf-8")
    assert "make test" in readme and "make test" in ci
    assert "make demo" in readme
