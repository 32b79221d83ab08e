"""Parse functions on saved responses (no crawl): HTML listings, API records.

Feeds are read by the corpus of ``tests/data/feeds/`` (``tests/test_feed_corpus.py``)."""

from __future__ import annotations

from pathlib import Path

from scrapy.http import HtmlResponse

from tests.collect.conftest import sources_from
from watcher.collect.kinds.api import record_to_item
from watcher.collect.kinds.common import dotted, parse_date, plain_text
from watcher.collect.kinds.html import parse_listing
from watcher.config import HtmlSelectors

DATA = Path(__file__).parent / "data"


def response(name: str, url: str) -> HtmlResponse:
    return HtmlResponse(url=url, body=(DATA / name).read_bytes(), encoding="utf-8")


def test_html_listing_with_container_selectors() -> None:
    selectors = HtmlSelectors(
        item="article.card",
        link="h2 a::attr(href)",
        title="h2 a",
        date="time",
        summary="p.chapo::text",
        next_page="a.pager-next::attr(href)",
    )
    items = parse_listing(
        response("listing-ademe-like.html", "https://www.example.org/actualites/"),
        "ademe",
        selectors,
    )
    assert [i.url for i in items] == [
        "https://www.example.org/actualites/appel-a-projets-eit-2027",
        "https://www.example.org/actualites/webinaire-chaleur-fatale?utm_campaign=nl",
        "https://www.example.org/actualites/guide-mutualisation.html",
    ]
    assert [i.title for i in items] == [
        "Appel à projets EIT 2027",
        "Webinaire chaleur fatale",
        "Guide de la mutualisation",
    ]
    assert items[0].summary == "Dépôt des dossiers jusqu'au 15 janvier 2027."
    assert items[0].published.date().isoformat() == "2026-11-20"
    assert items[1].published.isoformat() == "2026-11-18T10:30:00+01:00"
    assert items[2].published is None


def test_html_listing_without_container_takes_every_link_match() -> None:
    selectors = HtmlSelectors(link="main h2 a::attr(href)")
    items = parse_listing(
        response("listing-ademe-like.html", "https://www.example.org/actualites/"), "x", selectors
    )
    assert len(items) == 3 and all("/contact" not in i.url for i in items)


def test_api_record_mapping_keeps_structured_fields() -> None:
    record = {
        "id": 42,
        "name": "Aide à l'écologie industrielle",
        "url": "/aides/42-eit/",
        "description": "<p>Financement des <b>études</b></p>",
        "submission_deadline": "15/01/2027",
        "dates": {"published": "2026-11-02T08:00:00Z"},
        "perimeter": {"name": "Grand Est"},
    }
    fields = {
        "url": "url",
        "title": "name",
        "summary": "description",
        "deadline": "submission_deadline",
        "published": "dates.published",
        "id": "id",
    }
    item = record_to_item("aides", "https://aides.example.gouv.fr/api/aids/", record, fields)
    assert item.url == "https://aides.example.gouv.fr/aides/42-eit/"
    assert item.summary == "Financement des études"
    assert item.extra == {"deadline": "2027-01-15", "api_id": "42"}
    assert item.published.isoformat() == "2026-11-02T08:00:00+00:00"
    assert record_to_item("aides", "https://x/", {"name": "no url"}, fields) is None


def test_dotted_paths_and_dates() -> None:
    data = {"a": {"b": [{"c": 1}, {"c": 2}]}}
    assert (
        dotted(data, "a.b.1.c") == 2 and dotted(data, "a.x.c") is None and dotted(data, "") == data
    )
    assert parse_date("3 décembre 2026").date().isoformat() == "2026-12-03"
    assert parse_date("Mon, 23 Nov 2026 10:00:00 +0100").isoformat() == "2026-11-23T10:00:00+01:00"
    assert parse_date("pas une date") is None


def test_an_api_next_page_on_another_host_gets_no_credentials(monkeypatch) -> None:  # noqa: ANN001
    # The next page's URL comes from the API's answer: the key went to any host it named.
    from types import SimpleNamespace

    from watcher.collect.kinds import api

    monkeypatch.setenv("API_KEY", "s3cret")
    source = sources_from(
        """sources:
  - id: api
    name: Api
    kind: api
    url: https://api.example.org/items
    api:
      items_path: items
      fields: {url: u, title: t}
      pagination: {style: next_url, next_field: next}
      auth: {style: header, key_env: API_KEY}
"""
    ).sources[0]
    spider = SimpleNamespace(request=lambda run, url, handler, **kw: (url, kw["headers"]))
    run = SimpleNamespace(source=source, token=None)
    same = api._page_request(spider, run, 1, "https://api.example.org/items?page=2")
    other = api._page_request(spider, run, 1, "https://collector.example.net/items?page=2")
    assert same[1]["Authorization"] == "Bearer s3cret"
    assert "Authorization" not in other[1] and "s3cret" not in str(other)


def test_a_script_or_style_in_a_title_leaves_no_code_in_its_text() -> None:
    title = "<script>alert('t')</script><style>h1{color:red}</style>Titre &amp; <b>suite</b>"
    assert plain_text(title) == "Titre & suite"
    assert plain_text("<SCRIPT type='x'>var a = 1;</SCRIPT> Appel") == "Appel"
