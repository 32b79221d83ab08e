"""`watcher train` never swaps a working model for one trained on nothing."""

from __future__ import annotations

import errno
import subprocess
from pathlib import Path

import pytest
from click.testing import CliRunner

from watcher.cli import main

GOOD = b"a working model, several MB in real life"


def _train(tmp_path: Path, training_dir: Path) -> tuple[object, Path]:
    """Run `watcher train --no-store` over a model folder holding a saved model."""
    model_dir = tmp_path / "model"
    model_dir.mkdir(exist_ok=True)
    (model_dir / "model.joblib").write_bytes(GOOD)
    (model_dir / "model.json").write_text("{}")
    toml = tmp_path / "watcher.toml"
    toml.write_text(
        f'[classify]\nmodel_dir = "{model_dir}"\ntraining_dir = "{training_dir}"\ncv_folds = 3\n'
    )
    result = CliRunner().invoke(main, ["train", "--no-store", "--settings", str(toml)])
    return result, model_dir


def _errors(result) -> list[str]:  # noqa: ANN001
    return [line for line in result.output.splitlines() if line.startswith("Error:")]


def test_a_misspelt_training_dir_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "training").mkdir()
    result, model_dir = _train(tmp_path, tmp_path / "trainnig")
    assert result.exit_code == 2, result.output
    (error,) = _errors(result)
    assert "classify.training_dir" in error and "trainnig" in error
    assert (model_dir / "model.joblib").read_bytes() == GOOD
    assert (model_dir / "model.json").read_text() == "{}"


def test_a_training_dir_that_is_a_file_is_a_config_error(tmp_path: Path) -> None:
    afile = tmp_path / "examples.jsonl"
    afile.write_text("{}\n")
    result, model_dir = _train(tmp_path, afile)
    assert result.exit_code == 2, result.output
    (error,) = _errors(result)
    assert "classify.training_dir" in error and "not a folder" in error
    assert (model_dir / "model.joblib").read_bytes() == GOOD


def test_no_usable_example_keeps_the_saved_model(tmp_path: Path) -> None:
    training = tmp_path / "training"
    training.mkdir()
    (training / "broken.jsonl").write_text("not json\n{}\n", encoding="utf-8")
    result, model_dir = _train(tmp_path, training)
    assert result.exit_code == 1, result.output
    (error,) = _errors(result)
    assert "no usable training example" in error and "is kept" in error
    assert (model_dir / "model.joblib").read_bytes() == GOOD
    assert (model_dir / "model.json").read_text() == "{}"
    assert sorted(p.name for p in model_dir.iterdir()) == ["model.joblib", "model.json"]


def test_without_a_saved_model_the_lexicons_alone_still_decide(tmp_path: Path) -> None:
    training = tmp_path / "training"
    training.mkdir()
    model_dir = tmp_path / "model"
    toml = tmp_path / "watcher.toml"
    toml.write_text(f'[classify]\nmodel_dir = "{model_dir}"\ntraining_dir = "{training}"\n')
    result = CliRunner().invoke(main, ["train", "--no-store", "--settings", str(toml)])
    assert result.exit_code == 0, result.output
    assert "the lexicons alone decide" in result.output
    assert (model_dir / "model.joblib").is_file()


def _folders_and_an_ended_pid(tmp_path: Path) -> tuple[Path, Path, int]:
    """Empty training and model folders, and the pid of a process that has ended (what
    a train killed half-way leaves in a file name)."""
    training = tmp_path / "training"
    training.mkdir()
    model_dir = tmp_path / "model"
    model_dir.mkdir()
    ended = subprocess.Popen(["true"])  # noqa: S607 - a pid whose process has ended
    ended.wait()
    return training, model_dir, ended.pid


def test_a_full_disk_names_the_model_and_leaves_no_temporary_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import joblib

    training, model_dir, ended_pid = _folders_and_an_ended_pid(tmp_path)
    killed = model_dir / f".model.joblib.partial-{ended_pid}"  # a train killed mid-dump
    killed.write_bytes(b"half a model")
    toml = tmp_path / "watcher.toml"
    toml.write_text(f'[classify]\nmodel_dir = "{model_dir}"\ntraining_dir = "{training}"\n')
    real_dump = joblib.dump

    def full_dump(_value: object, filename: Path, **_kwargs: object) -> None:
        Path(filename).write_bytes(b"half a model")
        raise OSError(errno.ENOSPC, "No space left on device")  # as joblib gives it

    with monkeypatch.context() as patch:
        patch.setattr(joblib, "dump", full_dump)
        result = CliRunner().invoke(main, ["train", "--no-store", "--settings", str(toml)])
    assert result.exit_code == 1, result.output
    # It was "Error: cannot write the output: …" and a model.joblib.<pid>.tmp left behind.
    assert _errors(result) == [f"Error: {model_dir / 'model.joblib'}: No space left on device"]
    assert list(model_dir.iterdir()) == []
    assert joblib.dump is real_dump
    result = CliRunner().invoke(main, ["train", "--no-store", "--settings", str(toml)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in model_dir.iterdir()) == ["model.joblib", "model.json"]


def test_temporary_files_of_older_versions_are_removed_by_the_next_save(tmp_path: Path) -> None:
    """Older versions wrote ``model.joblib.<pid>.tmp`` (the first ones
    ``model.joblib.tmp``): a killed train's file stayed for ever, several MB."""
    import os
    import time

    training, model_dir, ended_pid = _folders_and_an_ended_pid(tmp_path)
    dead = [model_dir / f"model.joblib.{ended_pid}.tmp", model_dir / f"model.json.{ended_pid}.tmp"]
    alive = model_dir / f"model.joblib.{os.getppid()}.tmp"  # a train still running
    stale, fresh = model_dir / "model.joblib.tmp", model_dir / "model.json.tmp"
    other = model_dir / "notes.tmp"
    for path in (*dead, alive, stale, fresh, other):
        path.write_bytes(b"half a model")
    day_ago = time.time() - 25 * 3600
    os.utime(stale, (day_ago, day_ago))
    os.utime(other, (day_ago, day_ago))
    toml = tmp_path / "watcher.toml"
    toml.write_text(f'[classify]\nmodel_dir = "{model_dir}"\ntraining_dir = "{training}"\n')
    result = CliRunner().invoke(main, ["train", "--no-store", "--settings", str(toml)])
    assert result.exit_code == 0, result.output
    assert sorted(p.name for p in model_dir.iterdir()) == sorted(
        ["model.joblib", "model.json", alive.name, fresh.name, other.name]
    )
