"""French names of the labels (what readers see), read from classifiers/taxonomy.yaml."""

from __future__ import annotations

import functools
from pathlib import Path

import yaml

TAXONOMY_PATH = Path(__file__).resolve().parents[2] / "classifiers" / "taxonomy.yaml"

# LABELS.md's names, used when the taxonomy file is missing or lacks an id.
_FALLBACK = {
    "types": {
        "appel_a_projets": "Appels à projets",
        "reglementation": "Réglementation",
        "evenement": "Agenda",
        "formation": "Formations",
        "publication": "Publications",
        "actualite": "Actualités",
    },
    "themes": {
        "dechets_ressources": "Déchets et ressources",
        "energie": "Énergie",
        "eau": "Eau",
        "mutualisation": "Mutualisation",
        "btp_materiaux": "BTP et matériaux",
        "agri_biomasse": "Agriculture et biomasse",
        "territoire": "Territoires et aménagement",
        "economie_circulaire": "Économie circulaire",
        "decarbonation": "Décarbonation de l'industrie",
    },
    "axes": {
        "savoirs": "Échanges de savoirs et méthodologie",
        "communication": "Communication",
        "formation": "Formation",
        "veille": "Veille",
        "indicateurs": "Indicateurs",
        "outils": "Outils et capitalisation",
    },
    "scopes": {
        "grand_est": "Grand Est",
        "france": "France",
        "europe": "Europe",
        "international": "International",
    },
}


@functools.cache
def names(path: Path = TAXONOMY_PATH) -> dict[str, dict[str, str]]:
    """{"types"|"themes"|"axes"|"scopes": {id: French name}}, in the taxonomy's order."""
    result = {group: dict(values) for group, values in _FALLBACK.items()}
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    except (OSError, yaml.YAMLError):
        return result
    for group in result:
        entries = data.get(group)
        if isinstance(entries, dict) and entries:
            ordered = {}
            for key, value in entries.items():
                name = value.get("name") if isinstance(value, dict) else None
                ordered[str(key)] = str(name or result[group].get(key, key))
            result[group] = ordered
    return result


def name(group: str, key: str | None) -> str:
    if not key:
        return ""
    return names()[group].get(key, key)
