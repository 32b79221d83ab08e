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
    assert "Date limite" in evidence
