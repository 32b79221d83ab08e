"""The real default sources.yaml: valid, complete against the catalogue, no secret inline."""

from __future__ import annotations

import re

from click.testing import CliRunner

from tests.shared import ROOT
from watcher.cli import main
from watcher.config import load_sources

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


def test_every_html_selector_is_valid_for_scrapy():
    from parsel import Selector

    page = Selector(
        text='<article class="card"><h2><a href="/a">Titre</a></h2><time datetime="2026-01-02">'
        '2 janvier</time><p>Résumé</p></article><a rel="next" href="/p2">suite</a>'
    )
    for source in load_sources(SOURCES).sources:
        if source.html is None:
            continue
        for field in ("item", "link", "title", "date", "summary", "next_page"):
            selector = getattr(source.html, field)
            if selector:
                page.css(selector)  # raises on a selector parsel cannot read
        items = page.css(source.html.item) if source.html.item else [page]
        assert items and items[0].css(source.html.link).get() == "/a", source.id
