"""Labels in the store: save, overrides, effective labels, pending items."""

import shutil
from datetime import UTC, date, datetime

from sqlalchemy import update

from watcher.classify import Classifier, classify_pending
from watcher.models import CollectedItem
from watcher.store.items import save_item
from watcher.store.labels import (
    effective_labels,
    get_labels,
    get_scores,
    override_examples,
    set_override,
)
from watcher.store.schema import items


def _add(store, n: int, title: str, text: str) -> int:  # noqa: ANN001
    item = CollectedItem(
        source_id="src",
        url=f"https://example.org/{n}",
        title=title,
        text=text,
        published=datetime(2025, 11, 20, tzinfo=UTC),
    )
    return save_item(store, item)[0]


def test_classify_pending_labels_then_relabels_changes(store, trained_settings) -> None:  # noqa: ANN001
    a = _add(store, 1, "Appel à projets recyclage des plastiques",
             "Candidatures jusqu'au 15 janvier 2026 pour les industriels de Moselle.")  # fmt: skip
    b = _add(store, 2, "Le club de football gagne", "Match remporté en championnat.")
    clf = Classifier.load(trained_settings, retrain=False)
    assert classify_pending(store, trained_settings, classifier=clf) == 2
    labels = get_labels(store, [a, b])
    assert labels[a]["labels"]["type"] == "appel_a_projets"
    assert labels[a]["labels"]["deadline"] == "2026-01-15"
    assert labels[a]["model_version"] == clf.version
    assert labels[b]["labels"]["relevant"] is False
    assert get_scores(store, [a])[a]["scores"]["relevant"] > 0.5
    # Nothing changed: nothing to do.
    assert classify_pending(store, trained_settings, classifier=clf) == 0
    # A changed text is outdated.
    with store.begin() as conn:
        conn.execute(
            update(items)
            .where(items.c.id == b)
            .values(text="Nouveau texte.", last_seen=datetime.now(UTC))
        )
    assert classify_pending(store, trained_settings, classifier=clf) == 1
    # Seen again but unchanged: checked, not relabelled.
    with store.begin() as conn:
        conn.execute(update(items).where(items.c.id == a).values(last_seen=datetime.now(UTC)))
    assert classify_pending(store, trained_settings, classifier=clf) == 0
    assert classify_pending(store, trained_settings, classifier=clf, scan_all=True) == 0
    # A new model version relabels everything it has not labelled.
    clf.version = "another-version"
    assert classify_pending(store, trained_settings, classifier=clf) == 2


def test_overrides_merge_and_feed_training(store, trained_settings, tmp_path) -> None:  # noqa: ANN001
    # A model folder of its own: the retraining below must not change the session's model.
    trained_settings = trained_settings.model_copy(deep=True)
    shutil.copytree(trained_settings.classify.model_dir, tmp_path / "model")
    trained_settings.classify.model_dir = tmp_path / "model"
    a = _add(store, 1, "Appel à projets recyclage", "Candidatures jusqu'au 15 janvier 2026.")
    clf = Classifier.load(trained_settings, retrain=False)
    classify_pending(store, trained_settings, classifier=clf)
    set_override(store, a, {"themes": ["economie_circulaire"]}, "alice")
    set_override(store, a, {"deadline": date(2026, 2, 1)}, "bob")
    merged = effective_labels(store, [a])[a]
    assert merged.themes == ["economie_circulaire"]
    assert merged.deadline == date(2026, 2, 1)
    assert merged.type == "appel_a_projets"  # the model's, not overridden
    examples = override_examples(store)
    assert examples[0]["labels"]["themes"] == ["economie_circulaire"]
    assert examples[0]["title"] == "Appel à projets recyclage"
    # The curators' corrections change the inputs: a load with the store retrains.
    retrained = Classifier.load(trained_settings, store)
    assert retrained.version != clf.version


def test_source_hints_reach_the_classifier(store, trained_settings) -> None:  # noqa: ANN001
    from watcher.config import parse_sources

    sources = parse_sources(
        "sources:\n"
        "  - id: src\n"
        "    name: Préfecture\n"
        "    organisation: État\n"
        "    kind: rss\n"
        "    url: https://example.org/feed\n"
        "    hints: {scope: grand_est}\n"
    )
    a = _add(store, 1, "Arrêté préfectoral relatif aux installations classées", "Texte.")
    clf = Classifier.load(trained_settings, retrain=False)
    classify_pending(store, trained_settings, sources=sources, classifier=clf)
    assert get_labels(store, [a])[a]["labels"]["scope"] == "grand_est"
