"""A store filled with generated items plus a few known ones, and its built site.

Known items (see KNOWN) let tests assert on exact pages, feed entries and
calendar events; HOSTILE is the item whose title and summary carry script,
event handlers, javascript: links, iframes and styles.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import new_database
from tests.publish import factory
from tests.shared import make_settings
from watcher.settings import Settings
from watcher.store import Store

TODAY = date(2026, 11, 25)  # a Wednesday of 2026-W48
WEEK = "2026-W48"
UNIQUE_WORD = "zorglubite"


def seed(store: Store) -> dict[str, int]:
    """Generated background items plus the known ones; returns their ids by name."""
    factory.add_items(
        store,
        factory.generated_specs(
            160, datetime(2026, 9, 1, tzinfo=UTC), datetime(2026, 11, 22, tzinfo=UTC)
        ),
    )
    factory.add_runs(store, datetime(2026, 11, 24, 6, tzinfo=UTC))
    at = datetime(2026, 11, 24, 9, tzinfo=UTC)
    ids = {
        "call_open": factory.add_item(
            store,
            title="Appel à projets chaleur fatale Grand Est",
            summary="La Région soutient la récupération de chaleur fatale. Les dossiers sont attendus.",
            text="Premier paragraphe. " * 3 + "PHRASE FINALE SECRETE du texte complet.",
            first_seen=at,
            url="https://ademe.example.org/aap-chaleur",
            labels=factory.labels("appel_a_projets", ["energie"], deadline=date(2026, 12, 15)),
            score=0.97,
        ),
        "call_soon": factory.add_item(
            store,
            title="AMI réemploi des matériaux du BTP",
            summary="Un appel à manifestation d'intérêt pour le réemploi.",
            first_seen=at,
            labels=factory.labels("appel_a_projets", ["btp_materiaux"], deadline=date(2026, 12, 3)),
            score=0.9,
        ),
        "call_closed": factory.add_item(
            store,
            title="Appel clos sur les biodéchets",
            summary="Cet appel est déjà clos.",
            first_seen=at,
            labels=factory.labels(
                "appel_a_projets", ["agri_biomasse"], deadline=date(2026, 11, 20)
            ),
            score=0.95,
        ),
        "decree": factory.add_item(
            store,
            title="Décret relatif à la réutilisation des eaux usées traitées",
            summary="",
            text=f"Le décret encadre la {UNIQUE_WORD} des eaux. Il précise les usages. "
            "Il entre en vigueur en janvier. Une quatrième phrase qui ne doit pas figurer.",
            first_seen=at,
            labels=factory.labels("reglementation", ["eau"], scope="france"),
            score=0.92,
            source_ids=["legifrance", "agence_eau"],
        ),
        "event": factory.add_item(
            store,
            title="Rencontre régionale des animateurs EIT",
            summary="Journée d'échanges à Metz.",
            first_seen=at,
            labels=factory.labels("evenement", ["territoire"]),
            event={
                "start": "2026-12-10T09:30",
                "end": "2026-12-10T17:00",
                "place": "Metz, Arsenal",
            },
            score=0.9,
        ),
        "training": factory.add_item(
            store,
            title="Formation aux diagnostics de flux",
            summary="Trois jours pour apprendre à conduire un diagnostic de flux.",
            first_seen=at,
            labels=factory.labels("formation", ["territoire", "energie"]),
            event={"start": "2026-12-14", "end": "2026-12-16", "place": "Nancy"},
            score=0.88,
        ),
        "irrelevant": factory.add_item(
            store,
            title="Résultats du match de football",
            summary="Sport.",
            first_seen=at,
            labels=factory.labels(relevant=False),
            score=0.05,
        ),
        "low_score": factory.add_item(
            store,
            title="Actualité peu sûre",
            summary="Score faible.",
            first_seen=at,
            labels=factory.labels("actualite", ["energie"]),
            score=0.2,
        ),
        "hostile": factory.add_item(
            store,
            title=factory.HOSTILE_TITLE,
            summary=factory.HOSTILE_SUMMARY,
            url="javascript:alert(6)",
            first_seen=at,
            labels=factory.labels("appel_a_projets", ["energie"], deadline=date(2026, 12, 20)),
            score=0.99,
        ),
    }
    return ids


@pytest.fixture
def seeded(store: Store, tmp_path: Path) -> tuple[Store, dict[str, int], Settings]:
    return store, seed(store), make_settings(tmp_path)


@pytest.fixture(scope="session")
def built(
    tmp_path_factory: pytest.TempPathFactory, session_engine: str, request: pytest.FixtureRequest
) -> Iterator[dict[str, Any]]:
    """One site built for the read-only tests of the session (one per database engine)."""
    from watcher.publish.site import build_site

    root = tmp_path_factory.mktemp(f"built-{session_engine}")
    with new_database(session_engine, root, request) as url:
        store = Store(url)
        ids = seed(store)
        settings = make_settings(root)
        report = build_site(store, settings, today=TODAY)
        yield {
            "store": store,
            "ids": ids,
            "settings": settings,
            "site": settings.publish.site_dir,
            "report": report,
        }
        store.close()
