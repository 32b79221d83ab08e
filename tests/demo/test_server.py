"""The demo web: every kind of source is served as designed, and the broken ones fail."""

from __future__ import annotations

import io
import json
import re
import tarfile
import urllib.error
import urllib.request
from datetime import timedelta

import feedparser
import pypdf
import pytest
import trafilatura
from lxml import etree
from parsel import Selector

from watcher.demo.content import BROKEN, load_demo
from watcher.demo.render import CARD_SELECTORS, DEMO_API_KEY, build_site
from watcher.demo.server import API_PATH, TOKEN_PATH

from .conftest import TODAY


def fetch(url: str, headers: dict[str, str] | None = None, data: bytes | None = None):
    """(status, headers, body) without raising on HTTP errors."""
    request = urllib.request.Request(url, headers=headers or {}, data=data)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def source(source_id: str):
    return next(s for s in load_demo(TODAY) if s.id == source_id)


def test_the_demo_has_about_150_items_and_a_this_week_in_most_sources():
    sources = load_demo(TODAY)
    assert len(sources) == 12
    assert 140 <= sum(len(s.items) for s in sources) <= 160
    monday = TODAY - timedelta(days=TODAY.weekday())
    this_week = [s.id for s in sources if any(i.published.date() >= monday for i in s.items)]
    assert len(this_week) == 12
    assert any(i.offtopic for i in source("demo-presse").items)


def test_rss_feed_parses_with_every_entry(demo):
    status, headers, body = fetch(demo.base_url + "/agence/flux.xml")
    assert status == 200 and "rss" in headers["Content-Type"]
    feed = feedparser.parse(body)
    assert not feed.bozo
    assert len(feed.entries) == len(source("demo-agence").items) == 16
    assert all(e.link.startswith(demo.base_url) for e in feed.entries)


def test_atom_feed_parses(demo):
    feed = feedparser.parse(fetch(demo.base_url + "/eau/atom.xml")[2])
    assert not feed.bozo and feed.version == "atom10"
    assert len(feed.entries) == 12
    assert all(e.get("published_parsed") for e in feed.entries)


def test_html_listing_paginates_with_rel_next(demo):
    seen, url, pages = [], demo.base_url + "/region/appels-a-projets/", 0
    while url and pages < 10:
        page = Selector(text=fetch(url)[2].decode())
        pages += 1
        for card in page.css(CARD_SELECTORS["item"]):
            seen.append(card.css(CARD_SELECTORS["link"]).get())
            assert card.css(CARD_SELECTORS["date"]).get()
        nxt = page.css(CARD_SELECTORS["next_page"]).get()
        url = demo.base_url + nxt if nxt else None
    assert pages == 3
    assert len(seen) == len(set(seen)) == 15


def test_article_pages_extract_with_trafilatura(demo):
    body = fetch(demo.base_url + "/region/appels-a-projets/economie-circulaire-entreprises/")[2]
    text = trafilatura.extract(body.decode())
    assert "appel à projets Économie circulaire" in text
    assert "Date limite de dépôt : " in text  # the deadline sentence is in the article


def test_deadlines_use_varied_french_phrasings_and_lie_ahead():
    texts = [" ".join(i.paragraphs) for s in load_demo(TODAY) for i in s.items if i.deadline]
    joined = "\n".join(texts)
    for pattern in (
        r"[Dd]ate limite de dépôt : \d{1,2}(er)? \w+ 20\d\d",
        r"jusqu'au \w+ \d{1,2}(er)? \w+ 20\d\d",
        r"avant le \d{1,2}(er)? \w+ 20\d\d",
        r"[Cc]lôture le \d\d/\d\d/20\d\d",
        r"au plus tard le \w+ \d{1,2}(er)? \w+ 20\d\d à 12 h",
        r"\d\d\.\d\d\.20\d\d",
        r"du \d\d/\d\d/20\d\d - 00:00 au \d\d/\d\d/20\d\d - 23:59",
    ):
        assert re.search(pattern, joined), pattern
    calls = [i for s in load_demo(TODAY) for i in s.items if i.deadline]
    assert len(calls) >= 40
    assert sum(i.deadline < TODAY for i in calls) == 1  # one closed call, on purpose


def test_api_needs_the_token_exchange_and_paginates(demo):
    base = demo.base_url
    assert fetch(base + API_PATH)[0] == 401
    assert fetch(base + TOKEN_PATH, {"X-AUTH-TOKEN": "wrong"}, b"")[0] == 401
    status, _, body = fetch(base + TOKEN_PATH, {"X-AUTH-TOKEN": DEMO_API_KEY}, b"")
    assert status == 200
    token = json.loads(body)["token"]
    records, url = [], base + API_PATH
    while url:
        status, _, body = fetch(url, {"Authorization": f"Bearer {token}"})
        assert status == 200
        page = json.loads(body)
        records += page["results"]
        url = page["next"]
    assert len(records) == page["count"] == 18
    deadlines = [r["submission_deadline"] for r in records]
    assert None in deadlines  # standing schemes have none
    assert all(d > TODAY.isoformat() for d in deadlines if d)
    assert all(fetch(r["url"])[0] == 200 for r in records[:3])


def test_sitemap_lists_news_and_fixed_pages(demo):
    tree = etree.fromstring(fetch(demo.base_url + "/eit-valmoselle/sitemap.xml")[2])
    locs = [e.text for e in tree.iter("{http://www.sitemaps.org/schemas/sitemap/0.9}loc")]
    news = [u for u in locs if "/actualites/" in u]
    assert len(news) == 10 and len(locs) == 14
    assert all(fetch(u)[0] == 200 for u in locs)


def test_jorf_index_lists_archives_of_xml_texts(demo):
    index = fetch(demo.base_url + "/OPENDATA/JORF/")[2].decode()
    names = re.findall(r'href="(JORF_\d{8}-\d{6}\.tar\.gz)"', index)
    assert len(names) == 2
    texts = []
    for name in names:
        status, _, body = fetch(demo.base_url + "/OPENDATA/JORF/" + name)
        assert status == 200
        with tarfile.open(fileobj=io.BytesIO(body), mode="r:gz") as archive:
            for member in archive:
                root = etree.fromstring(archive.extractfile(member).read())
                if root.tag == "TEXTE_VERSION":
                    texts.append(root)
    assert len(texts) == 14
    first = texts[0]
    assert first.findtext("META/META_COMMUN/ID").startswith("JORFTEXT")
    assert first.findtext("META/META_COMMUN/NATURE") in {"LOI", "DECRET", "ARRETE", "ORDONNANCE"}
    assert re.fullmatch(r"[A-Z]{4}\d{7}[A-Z]", first.findtext(".//NOR"))
    assert first.findtext(".//DATE_PUBLI") and first.findtext(".//TITREFULL")


def test_pdf_call_for_projects_has_extractable_text(demo):
    status, headers, body = fetch(
        demo.base_url + "/climaxion/documents/cahier-charges-synergies-eit.pdf"
    )
    assert status == 200 and headers["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in pypdf.PdfReader(io.BytesIO(body)).pages)
    assert "synergies de substitution" in text
    assert re.search(r"jusqu'au \w+ \d{1,2}(er)? \w+ 20\d\d", text)


@pytest.mark.parametrize("header", ["If-None-Match", "If-Modified-Since"])
def test_conditional_requests_get_304(demo, header):
    url = demo.base_url + "/ressources/publications.rss"
    status, headers, _ = fetch(url)
    value = headers["ETag"] if header == "If-None-Match" else headers["Last-Modified"]
    assert status == 200 and value
    assert fetch(url, {header: value})[0] == 304
    assert fetch(url, {"If-None-Match": '"something-else"'})[0] == 200


def test_robots_txt_is_served(demo):
    status, _, body = fetch(demo.base_url + "/robots.txt")
    assert status == 200 and b"Disallow: /prive/" in body


@pytest.mark.parametrize("broken", BROKEN, ids=lambda b: b.id)
def test_broken_sources_fail_as_designed(demo, broken):
    status, headers, body = fetch(demo.base_url + broken.path)
    assert status == broken.status
    if status == 200:  # an HTML page served as a feed
        assert "rss" in headers["Content-Type"]
        feed = feedparser.parse(body)
        assert feed.bozo and not feed.entries


def test_same_day_same_bytes_another_day_other_dates():
    one = build_site(TODAY, "http://127.0.0.1:1")
    two = build_site(TODAY, "http://127.0.0.1:1")
    assert {p: r.body for p, r in one.resources.items()} == {
        p: r.body for p, r in two.resources.items()
    }
    later = build_site(TODAY + timedelta(days=7), "http://127.0.0.1:1")
    path = "/agence/flux.xml"
    assert later.resources[path].body != one.resources[path].body
    assert set(later.resources) - set(one.resources) == {
        p for p in later.resources if "JORF_" in p
    }  # only the archives' names move with the day


def test_every_text_is_filled_in_and_every_id_unique():
    sources = load_demo(TODAY)
    for item in (i for s in sources for i in s.items):
        text = " ".join((item.title, item.summary, *item.paragraphs))
        assert "{" not in text and "}" not in text, item.slug
        assert item.paragraphs or item.link != item.path, item.slug  # or it points elsewhere
    paths = [i.path for s in sources for i in s.items]
    assert len(paths) == len(set(paths))


def test_every_article_page_gives_its_text_to_trafilatura():
    site = build_site(TODAY, "http://127.0.0.1:1")
    for source in site.sources:
        if source.kind == "jorf":
            continue
        for item in source.items:
            if not item.paragraphs or item.path.endswith(".pdf"):
                continue
            page = site.resources[item.path].body.decode()
            text = trafilatura.extract(page) or ""
            assert item.paragraphs[0][:80] in text, item.path
            assert len(text) >= 250, item.path


def test_feed_discovery_finds_the_feed_from_an_article_page(demo):
    from watcher.collect.discover import discover_feeds

    result = discover_feeds(demo.base_url + "/eau/actualites/boucle-eau-zone-industrielle/")
    found = {(f["url"], f["kind"]) for f in result["feeds"]}
    assert (demo.base_url + "/eau/atom.xml", "atom") in found
