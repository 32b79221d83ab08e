from datetime import date

import pytest

from watcher.classify.deadline import extract_deadline


@pytest.mark.parametrize(
    ("text", "published", "expected"),
    [
        ("Date limite de dépôt des dossiers : 15 mars 2026.", None, date(2026, 3, 15)),
        ("Les candidatures sont ouvertes jusqu'au 30 avril 2025 inclus.", None, date(2025, 4, 30)),
        ("Les dossiers sont à déposer avant le 12 juin 2025 à midi.", None, date(2025, 6, 12)),
        ("Clôture de l'appel : 12/09/2025.", None, date(2025, 9, 12)),
        ("Clôture des candidatures le 2025-10-31.", None, date(2025, 10, 31)),
        ("Réponses au plus tard le 3 octobre 2025.", None, date(2025, 10, 3)),
        ("Dépôt possible jusqu'au 1er décembre 2025.", None, date(2025, 12, 1)),
        ("L'appel est ouvert du 3 mars au 15 avril 2026.", None, date(2026, 4, 15)),
        ("Candidatures jusqu'au 15 janvier.", "2025-11-20", date(2026, 1, 15)),
        ("Candidatures jusqu'au 15 mai.", "2025-03-02", date(2025, 5, 15)),
        (
            "Première session : clôture le 15 mars 2026 ; seconde session : clôture le "
            "15 septembre 2026.",
            None,
            date(2026, 9, 15),
        ),
        ("Date limite pour le premier dépôt : 10 février 2026.", None, date(2026, 2, 10)),
        ("La campagne 2025 se clôt le 30 avril.", "2025-01-14", date(2025, 4, 30)),
        ("Le dossier est à remettre d'ici au 31 mars 2026.", None, date(2026, 3, 31)),
        ("Demandes à déposer entre le 1er mars et le 30 juin 2025.", None, date(2025, 6, 30)),
        ("Dépôt du 2 au 12 décembre 2024, 23h59.", None, date(2024, 12, 12)),
        ("Date limite\nde dépôt des dossiers :\nle 17 mai 2016", None, date(2016, 5, 17)),
        (
            "Les lettres d'intention sont attendues pour le 26 février 2026.",
            None,
            date(2026, 2, 26),
        ),
        (
            "Publié le 2 janvier 2026. Les projets doivent être déposés avant le 28 février 2026.",
            None,
            date(2026, 2, 28),
        ),
    ],
)
def test_closing_dates(text: str, published: str | None, expected: date) -> None:
    assert extract_deadline(text, published)[0] == expected


@pytest.mark.parametrize(
    "text",
    [
        "La consultation publique est ouverte jusqu'au 12 mai 2025.",
        "Publié le 3 mars 2025. Mis à jour le 5 mars 2025.",
        "Le webinaire aura lieu le 15 mars 2025 de 10h à 12h.",
        "Dépôt des candidatures jusqu'à fin novembre.",
        "Candidatures jusqu'en septembre 2025.",
        "Le décret du 12 avril 2025 entre en vigueur le 1er juillet 2025.",
        "Candidatures jusqu'au 15 janvier.",  # no year, no publication date
        "Les installations devront être mises en service au plus tard le 1er août 2027.",
        "Vote des internautes du 1er octobre au 1er décembre 2025.",
        "",
    ],
)
def test_no_deadline(text: str) -> None:
    assert extract_deadline(text)[0] is None


def test_events_only_count_registration() -> None:
    from watcher.classify.decide import APPLYING

    text = "Session à Lyon du 3 au 5 juin 2024 ; inscriptions closes le 3 mai 2024."
    assert extract_deadline(text, require=APPLYING)[0] == date(2024, 5, 3)
    assert extract_deadline("Le salon se tiendra le 5 juin 2024.", require=APPLYING)[0] is None


def test_evidence_names_the_words() -> None:
    value, evidence = extract_deadline("Date limite de dépôt : 15 mars 2026")
    assert value == date(2026, 3, 15)
    assert any("Date limite" in line for line in evidence)


# The forms issue 12 names, in sentences of our own.
@pytest.mark.parametrize(
    ("text", "published", "expected", "why"),
    [
        (
            "Réunion d'information le 3 février 2027 à Nancy. Date butoir : 12 mars 2027. "
            "Les travaux devront démarrer avant le 30 septembre 2027.",
            None, date(2027, 3, 12), "date butoir",
        ),
        (
            "Candidatures du 2 mai au 30 juin, prolongées jusqu'au 15/07/27 pour les "
            "collectivités.",
            None, date(2027, 7, 15), "extension preferred over 2027-06-30",
        ),
        (
            "L'échéance initialement prévue est reportée : clôture le 20 octobre 2026 au lieu "
            "du 29 septembre 2026.",
            None, date(2026, 10, 20), "clôture",
        ),
        (
            "Calendrier\nOuverture 4 janvier 2027 Dépôt des dossiers 9 avril 2027 Comité de "
            "sélection 25 mai 2027",
            None, date(2027, 4, 9), "Dépôt des dossiers",
        ),
        (
            "Lancé le 10 janvier 2027, l'appel vise les zones d'activités. Les dossiers sont à "
            "envoyer avant le 20 mai prochain.",
            None, date(2027, 5, 20), "year from the text's other dates",
        ),
        (
            "Les dossiers sont à envoyer avant le 20 mai prochain.",
            "2026-11-03", date(2027, 5, 20), "year from the publication date",
        ),
        (
            "Deux relèves en 2027 : 15 avril et 15 octobre 2027.",
            None, date(2027, 10, 15), "the last of several closing dates",
        ),
        (
            "15 juin 2027 : date limite de réception des propositions. 30 juin 2027 : audition "
            "des porteurs.",
            None, date(2027, 6, 15), "date limite",
        ),
    ],
)  # fmt: skip
def test_forms_real_calls_use(text: str, published: str | None, expected: date, why: str) -> None:
    value, explanation = extract_deadline(text, published)
    assert value == expected
    assert any(why.lower() in line.lower() for line in explanation), explanation


def test_year_comes_from_the_text_never_today() -> None:
    # No publication date, no dated date, no year anywhere: no deadline.
    assert extract_deadline("Dépôt des dossiers avant le 20 mai prochain.")[0] is None
    # A list in one sentence is in time order: 15 avril lies before 15 octobre 2024.
    text = "Deux sessions : dépôt avant le 15 avril et avant le 15 octobre 2024."
    assert extract_deadline(text)[0] == date(2024, 10, 15)
