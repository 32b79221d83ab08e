"""The retrained-model preview: differences between two models on recent items."""

from __future__ import annotations

from dataclasses import dataclass

from watcher.desk.model_preview import PreviewRunner, compute_preview, diff_labels
from watcher.models import Labels

from .builder import IN_WEEK, build_store


@dataclass
class _Result:
    id: int
    labels: Labels


class FakeClassifier:
    """Stands for watcher.classify.Classifier: the candidate adds 'eau' to every theme list."""

    saved: list[str] = []

    def __init__(self, version: str, extra_theme: str | None) -> None:
        self.version = version
        self.extra = extra_theme
        self.resources = None

    @classmethod
    def train(cls, settings, overrides, *, save=True):  # noqa: ANN001, ANN206
        assert save is False  # the current model must stay in place
        return cls("candidate", "eau"), {"examples": 12}

    @classmethod
    def load(cls, settings, store=None, *, retrain=None):  # noqa: ANN001, ANN206
        assert retrain is False
        return cls("current", None)

    @staticmethod
    def inputs_hash(resources, overrides):  # noqa: ANN001, ANN205
        return "hash"

    def label(self, records):  # noqa: ANN001, ANN201
        out = []
        for record in records:
            themes = ["energie"] if "chaleur" in record["title"].lower() else []
            if self.extra and themes:
                themes = [*themes, self.extra]
            out.append(_Result(record["id"], Labels(relevant=bool(themes), themes=themes)))
        return out

    def save(self, inputs, report) -> None:  # noqa: ANN001
        FakeClassifier.saved.append(self.version)


def test_diff_labels_lists_changed_fields_only():
    a = {"relevant": True, "type": "actualite", "themes": ["eau"], "axes": [], "scope": None}
    b = {**a, "themes": ["eau", "energie"], "scope": "france"}
    assert diff_labels(a, b) == {
        "themes": (["eau"], ["eau", "energie"]),
        "scope": (None, "france"),
    }


def test_preview_compares_recent_items_and_keeps_the_current_model(
    store, desk_settings, monkeypatch
):
    import time_machine

    FakeClassifier.saved = []
    ids = build_store(store)
    with time_machine.travel(IN_WEEK, tick=False):
        preview = compute_preview(store, desk_settings, 4, classifier_cls=FakeClassifier)
    # the old item (week 40) is outside the four weeks before 24 November
    assert preview.compared == len(ids) - 1
    changed = {c["id"] for c in preview.changes}
    assert changed == {ids["chaleur"], ids["mutualisation"]}
    assert preview.by_field == {"themes": 2}
    assert preview.current_version == "current" and preview.candidate_version == "candidate"
    assert FakeClassifier.saved == []


def test_runner_trains_in_the_background_then_adopts(store, desk_settings, monkeypatch):
    calls = []
    monkeypatch.setattr(
        "watcher.classify.classify_pending",
        lambda store, settings, sources=None, classifier=None: calls.append(classifier) or 5,
    )
    FakeClassifier.saved = []
    build_store(store)
    runner = PreviewRunner()
    assert runner.start(store, desk_settings, 4, classifier_cls=FakeClassifier)
    runner.thread.join(timeout=30)
    assert runner.current.status == "done", runner.current.error
    assert runner.adopt(store, desk_settings) == 5
    assert FakeClassifier.saved == ["candidate"] and calls[0].version == "candidate"
    assert runner.current.status == "adopted"


class StaleClassifier(FakeClassifier):
    @classmethod
    def load(cls, settings, store=None, *, retrain=None):  # noqa: ANN001, ANN206
        from watcher.exceptions import ClassifierError

        raise ClassifierError("the model cannot be used: training files changed")


def test_without_a_usable_saved_model_the_stored_labels_are_the_baseline(store, desk_settings):
    import time_machine

    StaleClassifier.saved = []
    ids = build_store(store)
    with time_machine.travel(IN_WEEK, tick=False):
        preview = compute_preview(store, desk_settings, 4, classifier_cls=StaleClassifier)
    assert "training files changed" in preview.baseline_note
    changed = {c["id"]: c["changes"] for c in preview.changes}
    # stored: chaleur has themes [energie], type appel_a_projets; the fake candidate
    # gives energie+eau and no type
    assert changed[ids["chaleur"]]["themes"] == (["energie"], ["eau", "energie"])
    assert changed[ids["chaleur"]]["type"] == ("appel_a_projets", None)


def test_source_hints_reach_both_models(store):
    from watcher.config import parse_sources
    from watcher.desk.model_preview import recent_records

    build_store(store)
    sources = parse_sources(
        "sources:\n"
        "  - {id: ademe, name: ADEME, kind: rss, url: 'https://ademe.example.org/flux',"
        " hints: {scope: grand_est}}\n"
        "  - {id: presse, name: Presse, kind: rss, url: 'https://presse.example.org/flux'}\n"
    )
    assert sources.hints_for(["inconnue", "presse", "ademe"]) == {"scope": "grand_est"}
    assert sources.hints_for(["presse"]) == {}
    records = recent_records(store, 520, sources=sources)
    with_hints = {r["id"] for r in records if r.get("hints")}
    assert len(with_hints) == 2  # the two calls come from "ademe"
