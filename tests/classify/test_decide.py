"""How combined scores and the conventions' rules become labels."""

from watcher.base.resources import BUNDLED_CLASSIFIERS
from watcher.base.taxonomy import load_taxonomy
from watcher.classify.decide import _axes, _Decision, _scope, _themes
from watcher.classify.prepare import Prepared
from watcher.classify.rules import type_adjustments
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


def test_projects_selected_in_a_title_are_winners_news_not_the_call() -> None:
    winners = type_adjustments("Appel à projets hydrogène : quatre projets lorrains retenus", "")
    assert ("actualite", 0.45, "winners announced: news (LABELS.md)") in winners
    assert any(t == "appel_a_projets" and boost < 0 for t, boost, _ in winners)
    # A call's text saying what the selected projects will get is still the call.
    call = type_adjustments(
        "Hydrogène : un appel à projets pour 2027",
        "Les projets retenus recevront une aide de 40 %.",
    )
    assert all(t != "actualite" for t, _, _ in call)
    assert ("appel_a_projets", 0.35, "the title announces a call or a grant") in call


def test_an_event_always_feeds_savoirs_and_a_news_item_only_what_passes() -> None:
    taxonomy = load_taxonomy(BUNDLED_CLASSIFIERS / "taxonomy.yaml")
    p = Prepared(id=1, title="t", text="", published=None, hints={}, language="fr")
    scores = {"axes": {a: 0.0 for a in taxonomy.ids("axes")} | {"veille": 0.9}}
    thresholds = {"axes": {a: 0.5 for a in taxonomy.ids("axes")}}
    assert _axes(_Decision(p, scores, thresholds, None), "evenement", taxonomy) == [
        "savoirs",
        "veille",
    ]
    assert _axes(_Decision(p, scores, thresholds, None), "actualite", taxonomy) == ["veille"]


def test_a_call_s_outcome_and_a_past_event_s_replay_are_news() -> None:
    for title in [
        "Lauréats de l'appel à projets Bioéconomie : 11 projets soutenus",
        "Appel à projets « Eau et industrie » : l'agence a reçu 70 dossiers",
        "Concours de l'innovation circulaire : une PME de Sélestat remporte le prix",
    ]:
        adjustments = type_adjustments(title, "")
        assert ("actualite", 0.45, "winners announced: news (LABELS.md)") in adjustments, title
    for title in [
        "Webinaire sur le tri en sept flux : le replay",
        "Salon X : ce qu'il fallait retenir",
    ]:
        assert any(t == "actualite" and b > 0 for t, b, _ in type_adjustments(title, "")), title
    # An open call, even one that names what it funds, is still a call.
    call = type_adjustments("Appel à projets : des aides pour les projets financés en 2027", "")
    assert all(t != "actualite" for t, _, _ in call)


def test_a_guide_or_note_explaining_a_rule_is_regulation() -> None:
    explainer = type_adjustments("Note juridique : prêter un salarié à une entreprise voisine", "")
    assert any(t == "reglementation" and b > 0 for t, b, _ in explainer)
    guide = type_adjustments("Guide : organiser une collecte de cartons sur sa zone", "")
    assert all(t != "reglementation" for t, _, _ in guide)


def test_a_type_s_own_axes_thresholds_win_over_the_general_ones() -> None:
    taxonomy = load_taxonomy(BUNDLED_CLASSIFIERS / "taxonomy.yaml")
    p = Prepared(id=1, title="t", text="", published=None, hints={}, language="fr")
    scores = {"axes": {a: 0.0 for a in taxonomy.ids("axes")} | {"outils": 0.3, "veille": 0.4}}
    thresholds = {
        "axes": {a: 0.35 for a in taxonomy.ids("axes")},
        "axes:publication": {a: 0.25 for a in taxonomy.ids("axes")} | {"veille": 0.5},
    }
    decision = _Decision(p, scores, thresholds, None)
    assert _axes(decision, "publication", taxonomy) == ["outils"]
    assert _axes(_Decision(p, scores, thresholds, None), "actualite", taxonomy) == ["veille"]
