"""The curators' full-text search: FTS5 on SQLite, a French tsvector on PostgreSQL,
giving the same answers to the same questions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from watcher.models import CollectedItem
from watcher.store import Store
from watcher.store.desk import fts_query, search_items, tsquery
from watcher.store.items import save_item

ITEMS = {
    "chaleur": (
        "Chaleur fatale : un réseau pour les zones industrielles",
        "Les entreprises de la zone mutualisent la récupération de chaleur fatale et "
        "alimentent un réseau voisin. Le syndicat d'énergie finance les études de faisabilité.",
    ),
    "eau": (
        "Réutilisation des eaux usées traitées",
        "Un décret précise les usages industriels des eaux usées traitées. Les sites de "
        "production réduisent leurs prélèvements d'eau et partagent leurs retours d'expérience.",
    ),
    "ecologie": (
        "Écologie industrielle et territoriale en Moselle",
        "Le club d'entreprises recense les flux de matières et d'énergie. La chaleur reste un "
        "gisement peu exploité, cité une seule fois dans ce texte.",
    ),
}


@pytest.fixture
def searchable(store: Store) -> dict[str, int]:
    ids = {}
    for n, (key, (title, text)) in enumerate(ITEMS.items()):
        item = CollectedItem(
            source_id="src",
            url=f"https://example.org/{key}",
            title=title,
            text=text,
            published=datetime(2026, 11, 2 + n, tzinfo=UTC),
        )
        ids[key] = save_item(store, item)[0]
    return ids


def _ids(store: Store, query: str) -> list[int]:
    return [row["id"] for row in search_items(store, query)]


def test_every_word_is_required_and_the_last_is_a_prefix(store, searchable) -> None:  # noqa: ANN001
    assert set(_ids(store, "eaux traitées")) == {searchable["eau"]}
    assert set(_ids(store, "récupération cha")) == {searchable["chaleur"]}
    assert _ids(store, "chaleur décret") == []


def test_title_matches_rank_first(store, searchable) -> None:  # noqa: ANN001
    # "chaleur" is in the title of one item and only in the text of another.
    assert _ids(store, "chaleur") == [searchable["chaleur"], searchable["ecologie"]]


def test_accents_are_folded(store, searchable) -> None:  # noqa: ANN001
    assert _ids(store, "ecologie territoriale") == [searchable["ecologie"]]
    assert _ids(store, "REUTILISATION") == [searchable["eau"]]


def test_results_carry_a_snippet_with_the_match_marked(store, searchable) -> None:  # noqa: ANN001
    [row] = search_items(store, "prélèvements")
    assert "[prélèvements]" in row["snippet"]
    assert row["title"] == ITEMS["eau"][0]
    assert row["url"] == "https://example.org/eau"
    assert row["published"].tzinfo is not None and row["first_seen"].tzinfo is not None


def test_operators_and_quotes_are_plain_words(store, searchable) -> None:  # noqa: ANN001
    for hostile in ['chaleur" OR *', "chaleur & !eau", "'; DROP TABLE items; --", "a:* | b"]:
        search_items(store, hostile)  # no syntax error reaches the curator
    assert search_items(store, "  ") == [] and search_items(store, "«»") == []
    assert fts_query('chaleur" OR x') == '"chaleur" "OR" "x"*'
    assert tsquery("chaleur & !eau") == "'chaleur' & 'eau':*"


def test_a_changed_text_is_searched_as_changed(store, searchable) -> None:  # noqa: ANN001
    item = CollectedItem(
        source_id="src",
        url="https://example.org/eau",
        title=ITEMS["eau"][0],
        text="Texte entièrement réécrit sur la méthanisation agricole et le biogaz.",
    )
    save_item(store, item)
    assert _ids(store, "méthanisation") == [searchable["eau"]]
    assert _ids(store, "prélèvements") == []
