"""The real default sources.yaml: valid, complete against the catalogue, no secret inline."""

from __future__ import annotations

import re

from click.testing import CliRunner

from watcher.cli import main
from watcher.config import load_sources

from .conftest import ROOT

SOURCES = ROOT / "sources.yaml"


def test_default_sources_file_validates():
    result = CliRunner().invoke(main, ["sources", "validate", "--sources", str(SOURCES)])
    assert result.exit_code == 0, result.output
    assert "59 sources, 59 enabled" in result.output


def test_every_kind_and_hint_is_where_expected():
    loaded = load_sources(SOURCES)
    by_id = {s.id: s for s in loaded.sources}
    assert {s.kind for s in loaded.sources} >= {"rss", "html", "api", "jorf"}
    jorf = by_id["jorf-opendata-dila"]
    assert jorf.kind == "jorf" and set(jorf.jorf.natures) == {
        "LOI",
        "DECRET",
        "ARRETE",
        "ORDONNANCE",
    }
    for legal in ("jorf-opendata-dila", "eurlex-legislation", "eurlex-oj-l"):
        assert by_id[legal].hints.type == "reglementation"
    at = by_id["aides-territoires-api"].api
    assert at.auth.style == "aides_territoires" and at.auth.key_env == "AIDES_TERRITOIRES_API_KEY"
    assert at.auth.token_url == "https://aides-territoires.beta.gouv.fr/api/connexion/"
    assert by_id["eu-funding-tenders-api"].api.auth.style == "eu_funding_tenders"
    assert by_id["aides-territoires-api"].hints.type == "appel_a_projets"


def test_inferred_parent_sources_are_flagged_in_a_comment():
    text = SOURCES.read_text(encoding="utf-8")
    flagged = re.findall(
        r"# inferred_parent: only child URLs were seen; verify before relying on it\n  - id: (\S+)",
        text,
    )
    assert {"climaxion-actualites", "bioeconomie-grandest", "aida-ineris"} <= set(flagged)
    assert len(flagged) == 9


def test_no_api_key_is_written_in_the_file():
    text = SOURCES.read_text(encoding="utf-8")
    assert "apiKey=" not in text
    assert not re.search(r"key_env: (?![A-Z_][A-Z0-9_]*\n)", text)
