"""`publish.site_dir` is replaced whole by a build: only a previous build may be."""

from __future__ import annotations

from pathlib import Path

import pytest
from click.testing import CliRunner

from tests.publish.conftest import TODAY
from watcher.cli import main
from watcher.exceptions import ConfigError
from watcher.publish.site import build_site
from watcher.publish.writer import MANIFEST, SiteWriter


def _site_build(store, toml: Path, site_dir: Path):  # noqa: ANN001, ANN202
    toml.write_text(f'[publish]\nsite_dir = "{site_dir}"\n')
    return CliRunner().invoke(main, ["site", "build", "--db", store.url, "--settings", str(toml)])


def test_a_database_beside_the_site_survives_and_the_command_errors(seeded, tmp_path) -> None:  # noqa: ANN001
    store, _ids, _settings = seeded
    output = tmp_path / "output"
    output.mkdir()
    (output / "watcher.db").write_bytes(b"SQLite format 3\x00precious")
    (output / "notes").mkdir()
    (output / "notes" / "todo.txt").write_text("keep me")
    result = _site_build(store, tmp_path / "watcher.toml", output)
    assert result.exit_code == 2, result.output
    errors = [line for line in result.output.splitlines() if line.startswith("Error:")]
    assert len(errors) == 1
    assert "publish.site_dir" in errors[0] and str(output) in errors[0]
    assert (output / "watcher.db").read_bytes() == b"SQLite format 3\x00precious"
    assert (output / "notes" / "todo.txt").read_text() == "keep me"
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_a_file_at_the_site_path_is_refused(seeded, tmp_path) -> None:  # noqa: ANN001
    store, _ids, _settings = seeded
    target = tmp_path / "site.txt"
    target.write_text("not a site")
    result = _site_build(store, tmp_path / "watcher.toml", target)
    assert result.exit_code == 2, result.output
    assert "publish.site_dir" in result.output
    assert target.read_text() == "not a site"


def test_the_writer_refuses_before_making_anything(tmp_path) -> None:  # noqa: ANN001
    work = tmp_path / "work"
    work.mkdir()
    (work / "sources.yaml").write_text("sources: []\n")
    with pytest.raises(ConfigError, match=r"publish\.site_dir"):
        SiteWriter(work)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["work"]  # no build folder left
    assert (work / "sources.yaml").read_text() == "sources: []\n"


@pytest.mark.parametrize("exists", [False, True])
def test_a_missing_or_empty_folder_is_built_into(seeded, tmp_path, exists) -> None:  # noqa: ANN001
    store, _ids, settings = seeded
    site = tmp_path / "fresh"
    if exists:
        site.mkdir()
    settings.publish.site_dir = site
    build_site(store, settings, today=TODAY)
    assert (site / "index.html").is_file() and (site / MANIFEST).is_file()


def test_a_previous_site_is_still_replaced(seeded, tmp_path) -> None:  # noqa: ANN001
    store, _ids, settings = seeded
    site = settings.publish.site_dir
    build_site(store, settings, today=TODAY)
    (site / "stale.html").write_text("left by an older build")
    result = _site_build(store, tmp_path / "watcher.toml", site)
    assert result.exit_code == 0, result.output
    assert (site / "index.html").is_file()
    assert not (site / "stale.html").exists()
