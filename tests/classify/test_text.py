import pytest

from watcher.base.resources import BUNDLED_CLASSIFIERS
from watcher.base.taxonomy import load_taxonomy
from watcher.base.yaml_data import load_yaml_data
from watcher.classify.lexicon import Lexicon
from watcher.classify.scope import load_gazetteer
from watcher.classify.text import clean_text, detect_language
from watcher.exceptions import ClassifierError


def test_html_is_stripped() -> None:
    out = clean_text("<p>Les <b>déchets</b></p><script>alert(1)</script><br>&amp; co")
    assert "<" not in out and "alert" not in out
    assert "déchets" in out and "& co" in out


def test_mojibake_is_repaired() -> None:
    assert clean_text("Les dÃ©chets câ€™est lâ€™Ã©conomie") == "Les déchets c'est l'économie"


def test_size_and_junk_never_raise() -> None:
    assert clean_text(None) == ""
    assert clean_text(12) == "12"
    assert len(clean_text("mot " * 100_000)) <= 40_000


def test_language() -> None:
    english = (
        "The European Commission has published new guidance on industrial waste heat "
        "recovery for district heating networks across member states."
    )
    german = (
        "Die Europäische Kommission hat neue Leitlinien zur Nutzung industrieller "
        "Abwärme in Fernwärmenetzen veröffentlicht."
    )
    assert detect_language("Waste heat", english)[0] == "en"
    assert detect_language("Abwärme", german)[0] == "de"
    assert detect_language("Chaleur fatale", "")[0] == "fr"  # too short to judge


def test_taxonomy_has_the_ids_of_labels_md() -> None:
    tax = load_taxonomy(BUNDLED_CLASSIFIERS / "taxonomy.yaml")
    assert tax.ids("types") == [
        "appel_a_projets", "reglementation", "evenement", "formation", "publication", "actualite",
    ]  # fmt: skip
    assert len(tax.ids("themes")) == 9 and len(tax.ids("axes")) == 6
    assert tax.name("themes", "energie") == "Énergie"
    assert tax.default_axes["formation"] == ["formation"]


def test_scope() -> None:
    gaz = load_gazetteer(BUNDLED_CLASSIFIERS / "gazetteer.yaml")
    assert gaz.scope("Une synergie à Sarreguemines", "").scope == "grand_est"
    assert gaz.scope("Atelier", "Rendez-vous à Troyes le 3 mars.").scope == "grand_est"
    assert gaz.scope("Entreprise", "Implantée à 57200 Sarreguemines").scope == "grand_est"
    assert gaz.scope("Un projet en Seine-et-Marne", "Au lever de l'aube").scope == "france"
    assert gaz.scope("Un projet en Bretagne", "à Rennes").scope == "france"
    eu = gaz.scope("Horizon Europe", "La Commission européenne ouvre un appel aux États membres.")
    assert eu.scope == "europe"
    world = gaz.scope("Le recyclage en Chine", "Le marché mondial et la Chine, les États-Unis.")
    assert world.scope == "international"
    assert gaz.scope("Décret", "", hint="grand_est").scope == "grand_est"


def test_scope_small_places_territories_and_inhabitants() -> None:
    gaz = load_gazetteer(BUNDLED_CLASSIFIERS / "gazetteer.yaml")
    for title, text in [
        ("Visite d'une laiterie", "Les participants ont découvert le site de Bénestroff."),
        ("Bilan de la démarche", "La démarche de la vallée de la Bruche compte 50 synergies."),
        (
            "Un programme transfrontalier",
            "Les entreprises alsaciennes implantées à Bâle en profitent.",
        ),
        ("Note juridique", "Un cabinet nancéien rappelle les règles du prêt de salariés."),
        ("Priorités 2026", "Le programme Interreg Rhin supérieur adopte ses priorités."),
    ]:
        assert gaz.scope(title, text).scope == "grand_est", text
    # Words spelt like a place once accents are folded, or places elsewhere.
    assert gaz.scope("En ville", "Une ville moyenne de Bretagne, à Rennes.").scope == "france"
    assert (
        gaz.scope("Saint-Louis du Sénégal", "Un parc industriel au Sénégal.").scope != "grand_est"
    )


def test_scope_a_regional_name_in_passing_and_events_held_in_france() -> None:
    gaz = load_gazetteer(BUNDLED_CLASSIFIERS / "gazetteer.yaml")
    national = gaz.scope(
        "L'ADEME publie le gisement national de chaleur fatale",
        "Le gisement français, dont une part en Grand Est, est évalué par le ministère au "
        "niveau national pour toute la France.",
    )
    assert national.scope == "france"
    # The region named in the title still decides.
    assert gaz.scope("Le Grand Est et la chaleur fatale", "En France.").scope == "grand_est"
    fair = (
        "Salon Biogaz Europe, la 6e édition",
        "Le salon européen du biogaz en Europe se tient à Nantes.",
    )
    assert gaz.scope(*fair).scope == "europe"
    assert gaz.scope(*fair, gathering=True).scope == "france"


def test_a_common_word_spelt_like_a_place_elsewhere_does_not_move_the_scope() -> None:
    gaz = load_gazetteer(BUNDLED_CLASSIFIERS / "gazetteer.yaml")
    meeting = gaz.scope(
        "Club d'entreprises de Thionville", "Lors de la réunion du club, trois tours de table."
    )
    assert meeting.scope == "grand_est"
    assert not meeting.cues["france_places"]
    island = gaz.scope("Un parc d'activités à la Réunion", "Sur l'île de La Réunion.")
    assert island.scope == "france"
    assert island.cues["france_places"] == ["La Réunion", "la Réunion"]
    # Acronyms stay exact, other capitalised names still match in capitals.
    assert gaz.scope("Un projet en MOSELLE", "").scope == "grand_est"


@pytest.mark.parametrize("load", [load_taxonomy, load_gazetteer, Lexicon], ids=lambda f: f.__name__)
def test_a_classifier_file_with_an_impossible_date_is_a_classifier_error(tmp_path, load) -> None:  # noqa: ANN001
    # PyYAML's datetime() raised ValueError through them: an "unexpected" error, a bug.
    path = tmp_path / "file.yaml"
    path.write_text("grand_est: 2026-13-45\n", encoding="utf-8")
    with pytest.raises(ClassifierError, match="cannot read the .*month must be in 1..12"):
        load(path)


@pytest.mark.parametrize("load", [load_taxonomy, load_gazetteer, Lexicon], ids=lambda f: f.__name__)
def test_a_key_written_twice_in_a_classifier_file_is_named_with_its_line(tmp_path, load) -> None:  # noqa: ANN001
    # YAML keeps the last of two equal keys: a term's first weight was lost silently.
    path = tmp_path / "file.yaml"
    path.write_text("axes:\n  formation:\n    diplôme: 1\n    diplôme: 3\n", encoding="utf-8")
    with pytest.raises(ClassifierError) as caught:
        load(path)
    assert f"{path}: cannot read the " in str(caught.value)
    assert "line 4, column 5: duplicate key 'diplôme'" in str(caught.value)
    assert "\n" not in str(caught.value)


def test_the_bundled_classifier_files_have_no_key_written_twice() -> None:
    for name in ("taxonomy.yaml", "gazetteer.yaml", "lexicons.yaml"):
        load_yaml_data((BUNDLED_CLASSIFIERS / name).read_bytes())
