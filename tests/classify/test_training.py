import json
import logging
from pathlib import Path

import pytest

from watcher.classify import Classifier
from watcher.classify.training import load_examples
from watcher.exceptions import ClassifierError

from .conftest import make_settings, make_training_dir


def test_malformed_lines_are_skipped_with_file_and_line(tmp_path: Path, caplog) -> None:
    folder = tmp_path / "training"
    folder.mkdir()
    good = {"id": "a", "title": "Décret", "text": "x", "labels": {"relevant": False}}
    (folder / "one.jsonl").write_text(
        json.dumps(good) + "\n{not json\n" + json.dumps({"title": "no labels"}) + "\n\n"
    )
    (folder / "notes.txt").write_text("ignored")
    with caplog.at_level(logging.WARNING):
        examples = load_examples(folder)
    assert [e["id"] for e in examples] == ["a"]
    assert "one.jsonl:2" in caplog.text and "one.jsonl:3" in caplog.text


def test_changed_training_file_triggers_retraining(tmp_path: Path) -> None:
    training = make_training_dir(tmp_path / "training")
    settings = make_settings(tmp_path, training)
    first = Classifier.load(settings)  # no model yet: trains and saves
    sidecar = json.loads((settings.classify.model_dir / "model.json").read_text())
    assert sidecar["model_version"] == first.version
    assert sidecar["libraries"]["scikit-learn"]
    assert Classifier.load(settings, retrain=False).version == first.version

    extra = {
        "id": "new",
        "title": "Appel à projets réemploi des matériaux du BTP",
        "text": "Candidatures jusqu'au 30 juin 2026.",
        "labels": {"relevant": True, "type": "appel_a_projets", "themes": ["btp_materiaux"],
                   "axes": ["veille"], "scope": "france", "deadline": "2026-06-30"},
    }  # fmt: skip
    with (training / "zz_offtopic.jsonl").open("a") as stream:
        stream.write(json.dumps(extra, ensure_ascii=False) + "\n")

    with pytest.raises(ClassifierError, match="changed"):
        Classifier.load(settings, retrain=False)
    second = Classifier.load(settings)
    assert second.version != first.version
    assert Classifier.load(settings, retrain=False).version == second.version


def test_library_mismatch_is_noticed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, make_training_dir(tmp_path / "training"))
    Classifier.load(settings)
    path = settings.classify.model_dir / "model.json"
    sidecar = json.loads(path.read_text())
    sidecar["libraries"]["scikit-learn"] = "0.1"
    path.write_text(json.dumps(sidecar))
    with pytest.raises(ClassifierError, match="scikit-learn"):
        Classifier.load(settings, retrain=False)


def test_cross_validated_report(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, make_training_dir(tmp_path / "training"))
    _clf, report = Classifier.train(settings, save=False)
    summary = report["cv"]["summary"]
    assert 0.0 <= summary["relevance_f1"] <= 1.0
    assert 0.2 <= report["thresholds"]["relevant"]["relevant"] <= 0.7


def test_without_training_data_the_lexicons_decide(tmp_path: Path) -> None:
    # An empty folder: a missing one is a configuration error (test_train_guard.py).
    empty = tmp_path / "empty-training"
    empty.mkdir()
    settings = make_settings(tmp_path, empty)
    clf = Classifier.load(settings)
    result = clf.label(
        [{"id": 1, "title": "Appel à projets : économie circulaire et recyclage", "text": ""}]
    )[0]
    assert result.labels.relevant
    assert result.labels.type == "appel_a_projets"
    assert "economie_circulaire" in result.labels.themes
