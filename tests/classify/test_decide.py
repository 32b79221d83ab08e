"""How combined scores become themes."""

from watcher.classify.decide import _Decision, _themes
from watcher.classify.prepare import Prepared


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
