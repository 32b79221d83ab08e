"""How combined scores become themes."""

from watcher.base.resources import BUNDLED_CLASSIFIERS
from watcher.classify.decide import _Decision, _scope, _themes
from watcher.classify.prepare import Prepared
from watcher.classify.scope import load_gazetteer


def _decision(scores: dict[str, float], thresholds: dict[str, float]) -> _Decision:
    p = Prepared(id=1, title="t", text="", published=None, hints={}, language="fr")
    return _Decision(p, {"themes": scores}, {"themes": thresholds}, None)


def test_a_theme_nearly_as_strong_as_the_best_counts_under_its_threshold() -> None:
    thresholds = {"eau": 0.5, "energie": 0.5, "territoire": 0.5}
    # Both subjects of the text score lower than a text on one of them would.
    two = _decision({"eau": 0.46, "energie": 0.40, "territoire": 0.2}, thresholds)
    assert _themes(two) == ["eau", "energie"]
    # A theme far below the best one does not.
    one = _decision({"eau": 0.9, "energie": 0.45, "territoire": 0.2}, thresholds)
    assert _themes(one) == ["eau"]
    # Weak scores everywhere: the best one only, never the noise near the floor.
    weak = _decision({"eau": 0.24, "energie": 0.22, "territoire": 0.1}, thresholds)
    assert _themes(weak) == ["eau"]


def test_an_event_held_in_france_stays_france_whatever_the_model_reads() -> None:
    gazetteer = load_gazetteer(BUNDLED_CLASSIFIERS / "gazetteer.yaml")
    p = Prepared(
        id=1, title="Salon Biogaz Europe", text="Le salon se tiendra à Nantes le 4 février.",
        published=None, hints={}, language="fr",
    )  # fmt: skip
    learned = {"grand_est": 0.05, "france": 0.1, "europe": 0.85, "international": 0.0}
    event = _Decision(p, {"scope": learned}, {}, None)
    assert _scope(event, gazetteer, "evenement") == "france"
    # A news item with the same words: the confident model may still read it as EU.
    news = _Decision(p, {"scope": learned}, {}, None)
    assert _scope(news, gazetteer, "actualite") == "europe"
