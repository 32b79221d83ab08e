"""A small store for the desk and delivery tests, filled through the store modules
(items via ``save_item``, labels via ``save_labels``), so no crawl is needed."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

from watcher.models import CollectedItem, Labels
from watcher.store import Store
from watcher.store.items import save_item
from watcher.store.labels import save_labels

WEEK = "2026-W48"  # Monday 23 November to Sunday 29 November 2026
IN_WEEK = datetime(2026, 11, 24, 9, 0, tzinfo=UTC)
OLD = datetime(2026, 10, 1, 9, 0, tzinfo=UTC)  # week 2026-W40


@dataclass
class Result:
    id: int
    labels: Labels
    scores: dict[str, Any] = field(default_factory=dict)
    explanations: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None


# key: (title, text, type, themes, scope, deadline, score, seen)
ITEMS: dict[str, tuple] = {
    "chaleur": (
        "Appel à projets : valoriser la chaleur fatale des sites industriels du Grand Est",
        "La Région Grand Est et l'ADEME ouvrent un appel à projets pour la récupération de "
        "chaleur fatale industrielle et les réseaux de chaleur. Dépôt avant le 15 décembre 2026.",
        "appel_a_projets",
        ["energie"],
        "grand_est",
        date(2026, 12, 15),
        0.92,
        IN_WEEK,
    ),
    "reemploi": (
        "AMI réemploi des matériaux de construction dans les chantiers publics",
        "Un appel à manifestation d'intérêt soutient le réemploi des matériaux issus de la "
        "démolition et des déchets du BTP. Clôture le 10 janvier 2027.",
        "appel_a_projets",
        ["btp_materiaux", "dechets_ressources"],
        "france",
        date(2027, 1, 10),
        0.86,
        IN_WEEK,
    ),
    "reut": (
        "Décret sur la réutilisation des eaux usées traitées dans l'industrie",
        "Un décret précise les conditions de réutilisation des eaux usées traitées (REUT) pour "
        "les usages industriels et les économies d'eau des sites de production.",
        "reglementation",
        ["eau"],
        "france",
        None,
        0.81,
        IN_WEEK,
    ),
    "mutualisation": (
        "Une zone d'activités mutualise son réseau de chaleur entre douze entreprises",
        "À Saint-Avold, douze entreprises d'une zone d'activités partagent désormais un réseau "
        "de chaleur alimenté par la chaleur récupérée d'un site voisin.",
        "actualite",
        ["energie", "mutualisation"],
        "grand_est",
        None,
        0.77,
        IN_WEEK,
    ),
    "methanisation": (
        "Webinaire : la méthanisation agricole au service des territoires",
        "Un webinaire présente des retours d'expérience de méthanisation agricole et de "
        "valorisation des biodéchets par des collectivités rurales.",
        "evenement",
        ["agri_biomasse"],
        "grand_est",
        None,
        0.71,
        IN_WEEK,
    ),
    "guide": (
        "Guide pratique de l'économie circulaire pour les collectivités",
        "Ce guide méthodologique aide les collectivités à bâtir une stratégie d'économie "
        "circulaire territoriale, avec des indicateurs et des exemples de synergies.",
        "publication",
        ["economie_circulaire", "territoire"],
        "france",
        None,
        0.66,
        IN_WEEK,
    ),
    "piege": (
        "Titre piégé\r\nBcc: victime@example.net\r\nX-Injected: oui",
        "Une actualité sur le tri des déchets et le recyclage des emballages plastiques, dont le "
        "titre contient des retours à la ligne pour tenter d'ajouter des en-têtes.",
        "actualite",
        ["dechets_ressources"],
        "europe",
        None,
        0.62,
        IN_WEEK,
    ),
    "football": (
        "Le club local remporte le derby de football",
        "Victoire trois buts à un pour le club local lors du derby de dimanche après-midi.",
        None,
        [],
        None,
        None,
        0.08,
        IN_WEEK,
    ),
    "ancien": (
        "Étude des gisements de chaleur fatale en Lorraine",
        "Une étude recense les gisements de chaleur fatale des industries lorraines et les "
        "réseaux de chaleur qui pourraient les valoriser.",
        "publication",
        ["energie"],
        "grand_est",
        None,
        0.74,
        OLD,
    ),
}


def build_store(store: Store) -> dict[str, int]:
    """Insert the items and their labels; returns key -> item id."""
    ids: dict[str, int] = {}
    results = []
    for key, (title, text, kind, themes, scope, deadline, score, seen) in ITEMS.items():
        item_id, _new = save_item(
            store,
            CollectedItem(
                source_id="ademe" if kind == "appel_a_projets" else "actu-environnement",
                url=f"https://example.org/veille/{key}",
                title=title,
                text=text,
                language="fr",
                published=seen,
            ),
            now=seen,
        )
        ids[key] = item_id
        relevant = kind is not None
        labels = Labels(
            relevant=relevant,
            type=kind,
            themes=themes,
            axes=["veille"] if relevant else [],
            scope=scope,
            deadline=deadline,
        )
        explanations = {"relevant": {"lexicon": [["chaleur fatale", 2.0]]}} if relevant else {}
        if relevant:
            explanations["type"] = {
                "lexicon": [["appel à projets", 1.5]],
                "model": [["dépôt", 0.4]],
            }
            explanations["themes"] = {t: {"lexicon": [[f"terme-{t}", 1.0]]} for t in themes}
        if deadline:  # as watcher.classify.deadline explains a closing date
            explanations["deadline"] = ["«…dossiers reçus jusqu'au 15 janvier»", "cue: jusqu'au"]
            explanations["deadline"].append("year from the publication date")
        results.append(Result(item_id, labels, {"relevant": score}, explanations))
    save_labels(store, results, model_version="test", input_hashes=[str(r.id) for r in results])
    return ids
