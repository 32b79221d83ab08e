"""A classifier trained once per test session on a small subset, in a tmp folder."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from tests import shared
from watcher.base.resources import BUNDLED_CLASSIFIERS
from watcher.settings import Settings

DATA = Path(__file__).resolve().parent / "data"
LINES_PER_FILE = 25  # enough to learn, fast to train


def make_training_dir(folder: Path) -> Path:
    """The team's examples (first lines of each file) plus hand-written off-topic ones."""
    folder.mkdir(parents=True, exist_ok=True)
    for path in sorted((BUNDLED_CLASSIFIERS / "training").glob("*.jsonl")):
        lines = path.read_text(encoding="utf-8").splitlines()[:LINES_PER_FILE]
        (folder / path.name).write_text("\n".join(lines) + "\n", encoding="utf-8")
    shutil.copy(DATA / "offtopic.jsonl", folder / "zz_offtopic.jsonl")
    return folder


def make_settings(tmp: Path, training: Path) -> Settings:
    """The shared builder with a small training folder and three folds."""
    return shared.make_settings(tmp, classify={"training_dir": training, "cv_folds": 3})


@pytest.fixture(scope="session")
def trained_settings(tmp_path_factory: pytest.TempPathFactory) -> Settings:
    tmp = tmp_path_factory.mktemp("classifier")
    settings = make_settings(tmp, make_training_dir(tmp / "training"))
    from watcher.classify import Classifier

    Classifier.train(settings)
    return settings


@pytest.fixture(scope="session")
def classifier(trained_settings: Settings):  # noqa: ANN201
    from watcher.classify import Classifier

    return Classifier.load(trained_settings, retrain=False)


@pytest.fixture
def label_one(classifier):  # noqa: ANN001, ANN201
    def run(title: str, text: str = "", **extra):  # noqa: ANN003, ANN202
        return classifier.label([{"id": "t", "title": title, "text": text, **extra}])[0]

    return run
