"""End to end: run_collect against a local web (one child crawl per collect)."""

from __future__ import annotations

import json
import os
import time
from dataclasses import replace

from sqlalchemy import select

from tests.collect.conftest import (
    Reply,
    article,
    fast_settings,
    jorf_archive,
    rss,
    sources_from,
    tiny_pdf,
)
from watcher.collect import run_collect
from watcher.collect.kinds.sitemap import MAX_CHILD_SITEMAPS
from watcher.store.items import iter_items
from watcher.store.schema import host_backoff, http_cache, items


def feed_source(source_id: str, url: str, extra: str = "") -> str:
    return f"  - id: {source_id}\n    name: {source_id}\n    kind: rss\n    url: {url}\n{extra}"


def by_source(report) -> dict:  # noqa: ANN001
    return {s.source_id: s for s in report.sources}


def serve_feed(web, path: str, count: int, *, prefix: str = "/a", etag: bool = True) -> None:  # noqa: ANN001
    entries = [
        (web.url(f"{prefix}/{i}?utm_source=rss"), f"Article {i}", f"Résumé {i}")
        for i in range(count)
    ]
    web.routes[path] = Reply(rss(entries), content_type="application/rss+xml", etag=etag)
    for i in range(count):
        web.routes[f"{prefix}/{i}"] = Reply(
            article(f"Article {prefix} {i}", seed=hash(prefix) % 1000 + i)
        )


def test_second_run_is_one_304_and_stores_nothing(web, store) -> None:  # noqa: ANN001
    serve_feed(web, "/feed.xml", 3)
    sources = sources_from("sources:\n" + feed_source("feed", web.url("/feed.xml")))
    first = run_collect(sources, db=store, settings=fast_settings())
    assert by_source(first)["feed"].status == "ok"
    assert by_source(first)["feed"].items_new == 3
    stored = list(iter_items(store))
    assert all(i.complete and i.language == "fr" and len(i.text) > 500 for i in stored)
    assert [i.url for i in stored] == [web.url(f"/a/{i}") for i in range(3)]
    with store.connect() as c:
        assert c.execute(select(http_cache.c.etag)).scalar()

    article_requests = len(web.requests_to("/a/0?utm_source=rss"))
    second = run_collect(sources, db=store, settings=fast_settings())
    report = by_source(second)["feed"]
    assert (report.status, report.http_status, report.items_new) == ("not_modified", 304, 0)
    conditional = web.requests_to("/feed.xml")[-1]
    assert conditional.get("If-None-Match") and conditional.get("If-Modified-Since")
    assert conditional["User-Agent"].startswith("watcher/")
    assert "https://github.com/eit-grand-est/watcher" in conditional["User-Agent"]
    assert len(web.requests_to("/a/0?utm_source=rss")) == article_requests
    assert list(iter_items(store)) == stored


def test_feed_without_validators_changes_nothing_the_second_time(web, store) -> None:  # noqa: ANN001
    serve_feed(web, "/plain.xml", 2, etag=False)
    sources = sources_from("sources:\n" + feed_source("plain", web.url("/plain.xml")))
    run_collect(sources, db=store, settings=fast_settings())
    before = [replace(i, last_seen=None) for i in iter_items(store)]
    report = run_collect(sources, db=store, settings=fast_settings())
    assert by_source(report)["plain"].items_new == 0
    assert [replace(i, last_seen=None) for i in iter_items(store)] == before
    assert len(web.requests_to("/a/1?utm_source=rss")) == 1  # articles are not fetched again


def test_robots_txt_disallow_is_honoured(web, store) -> None:  # noqa: ANN001
    web.routes["/robots.txt"] = Reply(
        b"User-agent: *\nDisallow: /private/\n", content_type="text/plain"
    )
    serve_feed(web, "/private/feed.xml", 1)
    entries = [(web.url("/private/page"), "Privé", "r"), (web.url("/public/page"), "Public", "r")]
    web.routes["/open.xml"] = Reply(rss(entries), content_type="application/rss+xml")
    web.routes["/public/page"] = Reply(article("Public", 3))
    web.routes["/private/page"] = Reply(article("Privé", 4))
    sources = sources_from(
        "sources:\n"
        + feed_source("closed", web.url("/private/feed.xml"))
        + feed_source("open", web.url("/open.xml"))
    )
    report = by_source(run_collect(sources, db=store, settings=fast_settings()))
    assert (report["closed"].status, report["closed"].error_kind) == ("failed", "robots")
    assert report["open"].status == "ok"
    assert web.requests_to("/private/feed.xml") == [] and web.requests_to("/private/page") == []
    texts = {i.url: i for i in iter_items(store)}
    assert texts[web.url("/public/page")].complete
    assert not texts[web.url("/private/page")].complete  # kept, retried, never fetched


def test_each_failure_kind_is_recorded_while_the_others_continue(web, store) -> None:  # noqa: ANN001
    serve_feed(web, "/good.xml", 2)
    web.routes["/missing.xml"] = Reply(b"<html><body>Page introuvable</body></html>", status=404)
    web.routes["/broken.xml"] = Reply(b"<html><body>Erreur</body></html>", status=500)
    # Slower than the timeout by far, and the timeout the other crawl tests' 3 s: at 1.5 s,
    # a feed of this crawl (a dozen sources and a 50 MB stream at once) answered late on
    # a busy machine would be one more "timeout".
    web.routes["/slow.xml"] = Reply(rss([]), content_type="application/rss+xml", delay=10)
    web.routes["/garbage.xml"] = Reply(
        b"\x00\x01<<<rss <item <<", content_type="application/rss+xml"
    )
    web.routes["/html.xml"] = Reply(
        b"<!DOCTYPE html><html><head><title>Accueil</title></head><body>Bienvenue</body></html>"
    )
    latin1 = (
        rss([(web.url("/b/0"), "Arrêté préfectoral", "Résumé")])
        .replace(b"utf-8", b"iso-8859-1")
        .decode("utf-8")
        .encode("latin-1")
    )
    latin1 = latin1.replace(b'encoding="iso-8859-1"', b'encoding="utf-8"')  # a wrong declaration
    web.routes["/charset.xml"] = Reply(latin1, content_type="application/rss+xml; charset=utf-8")
    web.routes["/b/0"] = Reply(article("Arrêté", 5))
    web.routes["/empty.xml"] = Reply(b"", content_type="application/rss+xml")
    web.routes["/huge.xml"] = Reply(
        b"x" * 65536, content_type="application/rss+xml", declared_length=50 * 1024 * 1024
    )
    names = ("good", "missing", "broken", "slow", "garbage", "html", "charset", "empty", "huge")
    text = "sources:\n" + "".join(feed_source(n, web.url(f"/{n}.xml")) for n in names)
    text += feed_source("nowhere", "http://no-such-host.invalid/feed.xml")
    listing = (
        "<html><body><ul><li><a href='/c/1'>Arrêté relatif à la chaleur</a></li></ul></body></html>"
    )
    web.routes["/nocharset.html"] = Reply(listing.encode("latin-1"), content_type="text/html")
    text += (
        f"  - id: nocharset\n    name: nocharset\n    kind: html\n    url: {web.url('/nocharset.html')}\n"
        "    fetch_article: false\n    html:\n      link: li a::attr(href)\n"
    )
    web.routes["/moved.html"] = Reply(b"<html><body><p>Nouvelle maquette</p></body></html>")
    web.routes["/api.json"] = Reply(b"<html>maintenance</html>", content_type="application/json")
    text += (
        f"  - id: moved\n    name: moved\n    kind: html\n    url: {web.url('/moved.html')}\n"
        "    html:\n      item: div.card\n      link: a::attr(href)\n"
        f"  - id: badjson\n    name: badjson\n    kind: api\n    url: {web.url('/api.json')}\n"
        "    api:\n      fields: {url: u, title: t}\n"
    )
    sources = sources_from(text)
    settings = fast_settings(retry_backoff_s=0.2)  # retries wait, then go
    report = by_source(run_collect(sources, db=store, settings=settings))
    kinds = {name: (r.status, r.error_kind) for name, r in report.items()}
    assert kinds == {
        "good": ("ok", None),
        "missing": ("failed", "http_404"),
        "broken": ("failed", "http_5xx"),
        "slow": ("failed", "timeout"),
        "garbage": ("failed", "malformed"),
        "html": ("failed", "not_a_feed"),
        "charset": ("ok", "charset"),
        "empty": ("failed", "empty"),
        "huge": ("failed", "too_large"),
        "nowhere": ("failed", "dns"),
        "nocharset": ("ok", "charset"),
        "moved": ("failed", "no_items"),
        "badjson": ("failed", "malformed"),
    }
    assert report["missing"].http_status == 404 and report["broken"].http_status == 500
    assert len(web.requests_to("/broken.xml")) == 2  # retried once
    titles = {i.title for i in iter_items(store)}
    assert "Arrêté préfectoral" in titles and "Article 0" in titles
    assert "Arrêté relatif à la chaleur" in titles  # latin-1 page without charset, read right


def test_malformed_feed_still_yields_its_parseable_entries(web, store) -> None:  # noqa: ANN001
    body = (
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>Premier</title><link>" + web.url("/m/1").encode() + b"</link></item>"
        b"<item><title>Cass\xc3\xa9 & <b>mal</title><link>"
        + web.url("/m/2").encode()
        + b"</link></item>"
        b"<item><title>Dernier</title><link>" + web.url("/m/3").encode() + b"</link></item>"
    )
    web.routes["/bad.xml"] = Reply(body, content_type="application/rss+xml")
    sources = sources_from(
        "sources:\n" + feed_source("bad", web.url("/bad.xml"), "    fetch_article: false\n")
    )
    report = by_source(run_collect(sources, db=store, settings=fast_settings()))["bad"]
    assert (report.status, report.error_kind) == ("ok", "malformed")
    assert report.items_found >= 2
    urls = {i.url for i in iter_items(store)}
    assert web.url("/m/1") in urls and len(urls) == report.items_new


def test_same_story_from_two_sources_is_one_item(web, store) -> None:  # noqa: ANN001
    web.routes["/one.xml"] = Reply(
        rss(
            [
                (web.url("/story?utm_source=one"), "Histoire", "r"),
                (web.url("/orig"), "Original", "r"),
            ]
        ),
        content_type="application/rss+xml",
    )
    web.routes["/two.xml"] = Reply(
        rss(
            [(web.url("/story?fbclid=two#x"), "Histoire", "r"), (web.url("/copy"), "Reprise", "r")]
        ),
        content_type="application/rss+xml",
    )
    web.routes["/story"] = Reply(article("Histoire", 10))
    web.routes["/orig"] = Reply(article("Une synergie", 11))
    web.routes["/copy"] = Reply(
        article("Une synergie", 11).replace(
            b"<footer>", b"<p>Source : la r\xc3\xa9gion.</p><footer>"
        )
    )
    sources = sources_from(
        "sources:\n"
        + feed_source("one", web.url("/one.xml"))
        + feed_source("two", web.url("/two.xml"))
    )
    run_collect(
        sources, db=store, settings=fast_settings(concurrent_per_host=1, concurrent_requests=1)
    )
    stored = list(iter_items(store))
    assert len(stored) == 2
    assert all(i.sources == ["one", "two"] for i in stored)
    again = run_collect(sources, db=store, settings=fast_settings())
    assert sum(s.items_new for s in again.sources) == 0 and len(list(iter_items(store))) == 2


def test_pdf_item_gets_its_text(web, store) -> None:  # noqa: ANN001
    web.routes["/aap.xml"] = Reply(
        rss([(web.url("/docs/aap.pdf"), "AAP", "Appel")]), content_type="application/rss+xml"
    )
    web.routes["/docs/aap.pdf"] = Reply(
        tiny_pdf("Depot des dossiers avant le 15 janvier 2027"), content_type="application/pdf"
    )
    sources = sources_from("sources:\n" + feed_source("aap", web.url("/aap.xml")))
    run_collect(sources, db=store, settings=fast_settings())
    (stored,) = list(iter_items(store))
    assert "15 janvier 2027" in stored.text and stored.extra["pdf"] is True


def test_host_answering_429_is_backed_off(web, store) -> None:  # noqa: ANN001
    web.routes["/limited.xml"] = Reply(b"slow down", status=429, content_type="text/plain")
    sources = sources_from("sources:\n" + feed_source("limited", web.url("/limited.xml")))
    first = by_source(run_collect(sources, db=store, settings=fast_settings()))["limited"]
    assert (first.status, first.error_kind) == ("failed", "http_429")
    with store.connect() as c:
        assert c.execute(select(host_backoff.c.host)).scalar() == "127.0.0.1"
    second = by_source(run_collect(sources, db=store, settings=fast_settings()))["limited"]
    assert (second.status, second.error_kind) == ("skipped", "host_backoff")
    assert len(web.requests_to("/limited.xml")) == 1


def test_html_listing_with_pagination(web, store) -> None:  # noqa: ANN001
    def page(n: int, next_link: str) -> bytes:
        cards = "".join(
            f"<div class='card'><h3><a href='/actu/{n}-{i}'>Actualité {n}-{i}</a></h3>"
            f"<span class='date'>{10 + i} novembre 2026</span><p class='chapo'>Chapô {n}-{i}</p></div>"
            for i in range(2)
        )
        return f"<html><body><main>{cards}</main>{next_link}</body></html>".encode()

    web.routes["/actualites"] = Reply(
        page(1, "<a class='next' href='/actualites?page=2'>Suivant</a>"), etag=True
    )
    web.routes["/actualites?page=2"] = Reply(
        page(2, "<a class='next' href='/actualites?page=3'>Suivant</a>")
    )
    web.routes["/actualites?page=3"] = Reply(page(3, ""))
    sources = sources_from(
        f"""sources:
  - id: listing
    name: Listing
    kind: html
    url: {web.url("/actualites")}
    fetch_article: false
    html:
      item: div.card
      link: h3 a::attr(href)
      title: h3 a::text
      date: span.date::text
      summary: p.chapo::text
      next_page: a.next::attr(href)
      page_limit: 2
"""
    )
    report = by_source(run_collect(sources, db=store, settings=fast_settings()))["listing"]
    assert (report.status, report.items_new) == ("ok", 4)
    stored = {i.url: i for i in iter_items(store)}
    first = stored[web.url("/actu/1-0")]
    assert first.title == "Actualité 1-0" and first.summary == "Chapô 1-0"
    assert first.published.date().isoformat() == "2026-11-10"
    assert web.requests_to("/actualites?page=3") == []  # page limit


def test_sitemap_takes_new_matching_urls(web, store) -> None:  # noqa: ANN001
    urls = ["/publications/guide-eit", "/publications/etude-flux", "/contact"]
    web.routes["/sitemap-index.xml"] = Reply(
        (
            '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            f"<sitemap><loc>{web.url('/sitemap.xml')}</loc></sitemap></sitemapindex>"
        ).encode(),
        content_type="application/xml",
    )
    web.routes["/sitemap.xml"] = Reply(
        (
            '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
            + "".join(
                f"<url><loc>{web.url(u)}</loc><lastmod>2026-11-2{i}</lastmod></url>"
                for i, u in enumerate(urls)
            )
            + "</urlset>"
        ).encode(),
        content_type="application/xml",
    )
    for i, u in enumerate(urls):
        web.routes[u] = Reply(article(f"Page {u}", 20 + i))
    text = f"""sources:
  - id: plan
    name: Plan
    kind: sitemap
    url: {web.url("/sitemap-index.xml")}
    sitemap:
      url_pattern: /publications/
"""
    report = by_source(run_collect(sources_from(text), db=store, settings=fast_settings()))["plan"]
    assert (report.status, report.items_new) == ("ok", 2)
    assert {i.title for i in iter_items(store)} == {
        "Page /publications/guide-eit",
        "Page /publications/etude-flux",
    }
    again = by_source(run_collect(sources_from(text), db=store, settings=fast_settings()))["plan"]
    assert again.items_new == 0 and len(web.requests_to("/publications/guide-eit")) == 1


def test_jorf_takes_only_new_archives(web, store) -> None:  # noqa: ANN001
    def text(n: int, nature: str = "DECRET") -> dict:
        return {
            "id": f"JORFTEXT0000520000{n:02d}",
            "nature": nature,
            "nor": f"TREP26{n:05d}D",
            "num": f"2026-{n}",
            "title": f"Décret n° 2026-{n} relatif à la valorisation des déchets",
            "date": "2026-11-27",
            "articles": [
                f"Article premier du texte {n}.",
                "Le ministre est chargé de l'exécution.",
            ],
        }

    names = [
        "JORF_20261126-010101.tar.gz",
        "JORF_20261127-010101.tar.gz",
        "JORF_20261128-010101.tar.gz",
    ]
    for i, name in enumerate(names):
        web.routes[f"/jorf/{name}"] = Reply(
            jorf_archive([text(2 * i), text(2 * i + 1, "ARRETE")]), content_type="application/gzip"
        )

    def index(listed: list[str]) -> Reply:
        links = "".join(f'<a href="{n}">{n}</a><br>' for n in listed)
        return Reply(f"<html><body><h1>Index of /OPENDATA/JORF</h1>{links}</body></html>".encode())

    web.routes["/jorf/"] = index(names[:2])
    source = f"""sources:
  - id: jo
    name: Journal officiel
    kind: jorf
    url: {web.url("/jorf/")}
    jorf:
      natures: [DECRET]
      max_archives: 1
"""
    first = by_source(run_collect(sources_from(source), db=store, settings=fast_settings()))["jo"]
    assert (first.status, first.items_new) == ("ok", 1)  # latest archive only, decrees only
    (decree,) = list(iter_items(store))
    assert decree.url == "https://www.legifrance.gouv.fr/jorf/id/JORFTEXT000052000002"
    assert decree.extra["nor"] == "TREP2600002D" and decree.extra["nature"] == "decret"
    assert "Article 1. Article premier du texte 2." in decree.text
    web.routes["/jorf/"] = index(names)
    second = by_source(run_collect(sources_from(source), db=store, settings=fast_settings()))["jo"]
    assert second.items_new == 1
    assert (
        len(web.requests_to(f"/jorf/{names[1]}")) == 1
        and web.requests_to(f"/jorf/{names[0]}") == []
    )


def test_api_pagination_field_mapping_and_token_exchange(web, store, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("AT_KEY", "secret-key")
    exchanges = []

    def connexion(handler) -> Reply:  # noqa: ANN001
        exchanges.append(handler.headers.get("X-AUTH-TOKEN"))
        if handler.headers.get("X-AUTH-TOKEN") != "secret-key":
            return Reply(b'{"detail": "bad key"}', status=401, content_type="application/json")
        return Reply(json.dumps({"token": "tok-123"}).encode(), content_type="application/json")

    def aids(handler) -> Reply:  # noqa: ANN001
        if handler.headers.get("Authorization") != "Bearer tok-123":
            return Reply(b"{}", status=401, content_type="application/json")
        page = int(handler.path.split("page=")[1].split("&")[0])
        results = [
            {
                "url": f"/aides/{page}-{i}",
                "name": f"Aide {page}-{i}",
                "description": "<p>Soutien aux <b>synergies</b></p>",
                "submission_deadline": "2027-01-15",
                "dates": {"start": f"2026-11-0{i + 1}"},
            }
            for i in range(2)
        ]
        return Reply(
            json.dumps({"results": results if page <= 2 else []}).encode(),
            content_type="application/json",
        )

    web.routes["/api/connexion/"] = connexion
    web.routes["/api/aids/"] = aids
    source = f"""sources:
  - id: aides
    name: Aides-territoires
    kind: api
    url: {web.url("/api/aids/")}
    fetch_article: false
    api:
      items_path: results
      fields: {{url: url, title: name, summary: description, deadline: submission_deadline, published: dates.start}}
      pagination: {{style: page, param: page, max_pages: 5}}
      auth: {{style: aides_territoires, key_env: AT_KEY}}
"""
    report = by_source(run_collect(sources_from(source), db=store, settings=fast_settings()))[
        "aides"
    ]
    assert (report.status, report.items_new) == ("ok", 4)
    stored = {i.title: i for i in iter_items(store)}
    assert stored["Aide 2-1"].url == web.url("/aides/2-1")
    assert stored["Aide 1-0"].extra["deadline"] == "2027-01-15"
    assert stored["Aide 1-0"].summary == "Soutien aux synergies"
    assert len(web.requests_to("/api/aids/?page=3")) == 1  # stops at the empty page
    run_collect(sources_from(source), db=store, settings=fast_settings())
    assert exchanges == ["secret-key"]  # the token is reused on the next run

    monkeypatch.setenv("AT_KEY", "wrong-key")
    from watcher.store import crawl_state

    crawl_state.forget_token(store, "aides")
    refused = by_source(run_collect(sources_from(source), db=store, settings=fast_settings()))[
        "aides"
    ]
    assert (refused.status, refused.error_kind, refused.http_status) == ("failed", "auth", 401)


def test_api_offset_and_next_url_pagination_with_query_key(web, store, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("EU_KEY", "public")

    def offset_api(handler) -> Reply:  # noqa: ANN001
        assert "apiKey=public" in handler.path
        offset = int(handler.path.split("offset=")[1].split("&")[0])
        data = (
            [{"link": f"/o/{offset + i}", "t": f"O {offset + i}"} for i in range(2)]
            if offset < 4
            else []
        )
        return Reply(
            json.dumps({"data": {"items": data}}).encode(), content_type="application/json"
        )

    def next_api(handler) -> Reply:  # noqa: ANN001
        n = int(handler.path.rsplit("/", 1)[1] or 0)
        nxt = f"/next/{n + 1}" if n < 2 else None
        return Reply(
            json.dumps({"items": [{"u": f"/n/{n}", "t": f"N {n}"}], "next": nxt}).encode(),
            content_type="application/json",
        )

    def search_api(handler) -> Reply:  # noqa: ANN001
        ok = (
            handler.command == "POST"
            and "apiKey=SEDIA" in handler.path
            and b'name="query"' in handler.body
            and b'{"bool": {"must": []}}' in handler.body
            and handler.headers["Content-Type"].startswith("multipart/form-data; boundary=")
        )
        results = [
            {
                "url": "/call/1",
                "title": "Appel LIFE",
                "metadata": {"deadlineDate": ["2027-02-05T17:00:00.000+0000"]},
            }
        ]
        return Reply(
            json.dumps({"results": results if ok else []}).encode(), content_type="application/json"
        )

    web.routes["/search"] = search_api
    web.routes["/offset"] = offset_api
    for n in range(3):
        web.routes[f"/next/{n}"] = next_api
    source = f"""sources:
  - id: eu
    name: EU
    kind: api
    url: {web.url("/offset")}
    fetch_article: false
    api:
      items_path: data.items
      fields: {{url: link, title: t}}
      pagination: {{style: offset, param: offset, size: 2, size_param: limit}}
      auth: {{style: eu_funding_tenders, key_env: EU_KEY}}
  - id: eupost
    name: EU search
    kind: api
    url: {web.url("/search")}
    fetch_article: false
    api:
      items_path: results
      fields: {{url: url, title: title, deadline: metadata.deadlineDate.0}}
      method: POST
      body: {{query: {{bool: {{must: []}}}}}}
      auth: {{style: eu_funding_tenders, key_env: UNSET_EU_KEY}}
  - id: chain
    name: Chain
    kind: api
    url: {web.url("/next/0")}
    fetch_article: false
    api:
      items_path: items
      fields: {{url: u, title: t}}
      pagination: {{style: next_url, next_field: next}}
"""
    report = by_source(run_collect(sources_from(source), db=store, settings=fast_settings()))
    assert report["eu"].items_new == 4 and report["chain"].items_new == 3
    assert report["eupost"].items_new == 1
    titles = {i.title for i in iter_items(store)}
    assert {"O 0", "O 3", "N 0", "N 2"} <= titles
    (call,) = [i for i in iter_items(store) if i.title == "Appel LIFE"]
    assert call.extra["deadline"] == "2027-02-05"


def test_missing_api_key_is_reported(web, store, monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.delenv("NO_SUCH_KEY", raising=False)
    source = f"""sources:
  - id: locked
    name: Locked
    kind: api
    url: {web.url("/api")}
    api:
      fields: {{url: u, title: t}}
      auth: {{style: header, key_env: NO_SUCH_KEY}}
"""
    report = by_source(run_collect(sources_from(source), db=store, settings=fast_settings()))[
        "locked"
    ]
    assert (report.status, report.error_kind) == ("failed", "auth_missing")
    assert "NO_SUCH_KEY" in report.error_message


def test_items_table_has_no_duplicate_urls_after_all_this(web, store) -> None:  # noqa: ANN001
    serve_feed(web, "/feed.xml", 2)
    sources = sources_from(
        "sources:\n"
        + feed_source("f", web.url("/feed.xml"))
        + feed_source("g", web.url("/feed.xml"))
    )
    run_collect(sources, db=store, settings=fast_settings())
    with store.connect() as c:
        urls = list(c.execute(select(items.c.url)).scalars())
    assert len(urls) == len(set(urls)) == 2


def test_a_big_first_listing_is_taken_in_slices_without_loss(web, store) -> None:  # noqa: ANN001
    entries = [(web.url(f"/s/{i}"), f"Entrée {i}", "r") for i in range(4)]
    web.routes["/big.xml"] = Reply(rss(entries), content_type="application/rss+xml")
    sources = sources_from(
        "sources:\n" + feed_source("big", web.url("/big.xml"), "    fetch_article: false\n")
    )
    settings = fast_settings(max_items_per_source=2)
    first = by_source(run_collect(sources, db=store, settings=settings))["big"]
    assert (first.status, first.items_new, first.error_kind) == ("ok", 2, "truncated")
    second = by_source(run_collect(sources, db=store, settings=settings))["big"]
    assert (second.items_new, second.error_kind) == (2, None)
    assert {i.title for i in iter_items(store)} == {f"Entrée {i}" for i in range(4)}


def test_one_absurd_date_or_control_character_spoils_neither_item_nor_source(web, store) -> None:  # noqa: ANN001
    # Each of these dates overflows the store's conversion to UTC (or is year 9999):
    # the item is kept without its date, and its neighbours are stored as usual.
    api = {
        "results": [
            {"url": "/api/1", "name": "Un \u0001 contrôle", "date": "0001-01-01T00:00:00+14:00"},
            {"url": "/api/2", "name": "Deux", "date": "2026-11-30"},
            {"url": "/api/3", "name": "Trois", "date": "9999-12-31T23:00:00-05:00"},
        ]
    }
    web.routes["/api.json"] = Reply(json.dumps(api).encode(), content_type="application/json")
    web.routes["/listing"] = Reply(
        b"<html><body>"
        b"<div class='card'><a href='/l/1'>Premier \xe2\x80\xaespoof</a>"
        b"<time datetime='0001-01-01T00:00:00+14:00'>x</time></div>"
        b"<div class='card'><a href='/l/2'>Second</a><time datetime='2026-11-29'>x</time></div>"
        b"</body></html>"
    )
    web.routes["/feed.xml"] = Reply(
        b'<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>T</title>'
        b"<item><title>Fin &#x1; du monde</title><link>" + web.url("/f/1").encode() + b"</link>"
        b"<pubDate>Fri, 31 Dec 9999 23:59:59 GMT</pubDate></item>"
        b"<item><title>Normal</title><link>" + web.url("/f/2").encode() + b"</link>"
        b"<pubDate>Mon, 23 Nov 2026 10:00:00 +0100</pubDate></item></channel></rss>",
        content_type="application/rss+xml",
    )
    sources = sources_from(
        f"""sources:
  - id: api
    name: API
    kind: api
    url: {web.url("/api.json")}
    fetch_article: false
    api: {{items_path: results, fields: {{url: url, title: name, published: date}}}}
  - id: listing
    name: Listing
    kind: html
    url: {web.url("/listing")}
    fetch_article: false
    html: {{item: div.card, link: "a::attr(href)", title: a, date: "time::attr(datetime)"}}
"""
        + feed_source("feed", web.url("/feed.xml"), "    fetch_article: false\n")
    )
    reports = by_source(run_collect(sources, db=store, settings=fast_settings()))
    assert {k: (r.status, r.items_new) for k, r in reports.items()} == {
        "api": ("ok", 3),
        "listing": ("ok", 2),
        "feed": ("ok", 2),
    }
    stored = {i.url.removeprefix(web.base): i for i in iter_items(store)}
    assert {path: item.published is None for path, item in stored.items()} == {
        "/api/1": True,
        "/api/2": False,
        "/api/3": True,
        "/l/1": True,
        "/l/2": False,
        "/f/1": True,
        "/f/2": False,
    }
    assert stored["/api/1"].title == "Un contrôle"
    assert stored["/l/1"].title == "Premier spoof"
    assert stored["/f/1"].title == "Fin du monde"


def test_a_source_url_that_cannot_be_parsed_fails_alone(web, store) -> None:  # noqa: ANN001
    # sources.yaml refuses these now; one taken before (or built in code) raised
    # ValueError in the crawl's start, and every source of the crawl was interrupted.
    serve_feed(web, "/feed.xml", 1)
    text = "sources:\n" + "".join(
        feed_source(name, web.url("/feed.xml")) for name in ("feed", "bracket", "port")
    )
    bad = {"bracket": "http://[::1/feed.xml", "port": "http://127.0.0.1:99999/feed.xml"}
    sources = [
        s.model_copy(update={"url": bad[s.id]}) if s.id in bad else s
        for s in sources_from(text).sources
    ]
    report = by_source(run_collect(sources, db=store, settings=fast_settings()))
    assert (report["feed"].status, report["feed"].items_new) == ("ok", 1)
    assert report["bracket"].status == report["port"].status == "failed"
    assert "Invalid IPv6 URL" in report["bracket"].error_message
    assert "Port out of range" in report["port"].error_message


def test_a_sitemap_entry_that_cannot_be_parsed_is_refused_alone(web, store) -> None:  # noqa: ANN001
    # Its canonical URL raised ValueError, and the whole sitemap failed with it.
    locs = ["http://[::1/publications/x", web.url("/publications/guide-eit")]
    web.routes["/sitemap.xml"] = Reply(urlset(locs), content_type="application/xml")
    web.routes["/publications/guide-eit"] = Reply(article("Guide EIT", 20))
    text = sitemap_sources(web, plan="/sitemap.xml")
    report = by_source(run_collect(sources_from(text), db=store, settings=fast_settings()))["plan"]
    assert (report.status, report.items_new, report.error_kind) == ("ok", 1, "not_http")


def urlset(locs: list[str]) -> bytes:
    return (
        '<?xml version="1.0"?><urlset xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<url><loc>{loc}</loc></url>" for loc in locs)
        + "</urlset>"
    ).encode()


def sitemap_sources(web, **paths: str) -> str:  # noqa: ANN001
    """A sources.yaml of sitemap sources, id=path."""
    return "sources:\n" + "".join(
        f"  - id: {name}\n    name: {name}\n    kind: sitemap\n    url: {web.url(path)}\n"
        for name, path in paths.items()
    )


def sitemap_index(locs: list[str]) -> bytes:
    return (
        '<?xml version="1.0"?><sitemapindex xmlns="http://www.sitemaps.org/schemas/sitemap/0.9">'
        + "".join(f"<sitemap><loc>{loc}</loc></sitemap>" for loc in locs)
        + "</sitemapindex>"
    ).encode()


def test_a_sitemap_index_listing_itself_or_endless_indexes_is_read_once(web, store) -> None:  # noqa: ANN001
    # It was fetched again for every time it listed itself, each fetch asking for more,
    # until the crawl's time limit (26,856 fetches of one index in five minutes).
    web.routes["/loop.xml"] = Reply(
        sitemap_index(
            [web.url("/loop.xml"), web.url("/loop.xml?utm_source=x"), web.url("/sm.xml")]
        ),
        content_type="application/xml",
    )
    web.routes["/sm.xml"] = Reply(
        urlset([web.url("/publications/guide-eit")]), content_type="application/xml"
    )
    web.routes["/publications/guide-eit"] = Reply(article("Guide EIT", 20))

    def endless(handler) -> Reply:  # noqa: ANN001
        n = int(handler.path.partition("?n=")[2] or 0)
        return Reply(
            sitemap_index([web.url(f"/deep.xml?n={n + 1}")]), content_type="application/xml"
        )

    web.routes["/deep.xml"] = endless
    text = sitemap_sources(web, loop="/loop.xml", deep="/deep.xml")
    settings = fast_settings(crawl_time_limit_s=20)
    report = by_source(run_collect(sources_from(text), db=store, settings=settings))
    assert (report["loop"].status, report["loop"].items_new) == ("ok", 1)
    assert len(web.requests_to("/loop.xml")) == 1 and len(web.requests_to("/sm.xml")) == 1
    deep = [path for _method, path, _headers in web.log if path.startswith("/deep.xml")]
    assert len(deep) == 1 + MAX_CHILD_SITEMAPS
    assert (report["deep"].status, report["deep"].error_kind) == ("ok", "truncated")


def test_a_gzipped_sitemap_bomb_fails_as_too_large(web, store) -> None:  # noqa: ANN001
    import gzip

    web.routes["/sitemap.xml.gz"] = Reply(
        gzip.compress(b" " * (3 * 1024 * 1024)), content_type="application/x-gzip"
    )
    web.routes["/broken.xml.gz"] = Reply(
        b"\x1f\x8b" + b"garbage", content_type="application/x-gzip"
    )
    text = sitemap_sources(web, bomb="/sitemap.xml.gz", broken="/broken.xml.gz")
    settings = fast_settings(max_response_bytes=1024 * 1024)
    report = by_source(run_collect(sources_from(text), db=store, settings=settings))
    assert (report["bomb"].status, report["bomb"].error_kind) == ("failed", "too_large")
    assert (report["broken"].status, report["broken"].error_kind) == ("failed", "malformed")


def test_a_compression_bomb_fails_as_too_large(web, store) -> None:  # noqa: ANN001
    # Scrapy stops decompressing at max_response_bytes and ignores the response; the
    # source failed as 'error' ("an unexpected error") instead of saying why.
    import gzip
    import zlib

    big = b" " * (3 * 1024 * 1024)
    web.routes["/gzip.xml"] = Reply(
        gzip.compress(big), content_type="application/rss+xml", headers={"Content-Encoding": "gzip"}
    )
    web.routes["/deflate.xml"] = Reply(
        zlib.compress(big),
        content_type="application/rss+xml",
        headers={"Content-Encoding": "deflate"},
    )
    serve_feed(web, "/feed.xml", 1)
    text = "sources:\n" + "".join(
        feed_source(name, web.url(f"/{name}.xml")) for name in ("gzip", "deflate", "feed")
    )
    settings = fast_settings(max_response_bytes=1024 * 1024)
    report = by_source(run_collect(sources_from(text), db=store, settings=settings))
    assert (report["gzip"].status, report["gzip"].error_kind) == ("failed", "too_large")
    assert (report["deflate"].status, report["deflate"].error_kind) == ("failed", "too_large")
    assert (report["feed"].status, report["feed"].items_new) == ("ok", 1)


def test_a_sitemap_index_child_that_cannot_be_fetched_is_refused_alone(web, store) -> None:  # noqa: ANN001
    # An unparsable <loc> in an index raised ValueError and the source failed as 'error',
    # its good children never read.
    web.routes["/index.xml"] = Reply(
        sitemap_index(["http://[::1/x.xml", "javascript:alert(1)", web.url("/sm.xml")]),
        content_type="application/xml",
    )
    web.routes["/sm.xml"] = Reply(
        urlset([web.url("/publications/guide-eit")]), content_type="application/xml"
    )
    web.routes["/publications/guide-eit"] = Reply(article("Guide EIT", 20))
    text = sitemap_sources(web, plan="/index.xml")
    report = by_source(run_collect(sources_from(text), db=store, settings=fast_settings()))["plan"]
    assert (report.status, report.items_new, report.error_kind) == ("ok", 1, "not_http")
    assert "2 links refused" in report.error_message


def test_a_listing_link_that_cannot_be_parsed_is_refused_alone(web, store) -> None:  # noqa: ANN001
    # urljoin raised ValueError on an unclosed "[", and the whole listing failed as
    # 'error': the good links of the HTML page, the API page and its next page were lost.
    web.routes["/actualites"] = Reply(
        b"<html><body><ul><li><a href='http://[::1/x'>Mauvais</a></li>"
        b"<li><a href='/actu/1'>Bon</a></li></ul>"
        b"<a class='next' href='http://[::1/page2'>Suivant</a></body></html>"
    )
    web.routes["/liens"] = Reply(
        b"<html><body><p><a href='http://[::1/y'>Mauvais</a> <a href='/actu/2'>Bon</a></p>"
        b"</body></html>"
    )
    records = [{"u": "http://[::1/z", "t": "Mauvais"}, {"u": "/actu/3", "t": "Bon"}]
    web.routes["/api"] = Reply(
        json.dumps({"items": records, "next": "http://[::1/api?page=2"}).encode(),
        content_type="application/json",
    )
    sources = sources_from(
        f"""sources:
  - id: listing
    name: Listing
    kind: html
    url: {web.url("/actualites")}
    fetch_article: false
    html: {{item: li, link: "a::attr(href)", title: "a::text", next_page: "a.next::attr(href)",
            page_limit: 2}}
  - id: links
    name: Links
    kind: html
    url: {web.url("/liens")}
    fetch_article: false
    html: {{link: "p a"}}
  - id: api
    name: Api
    kind: api
    url: {web.url("/api")}
    fetch_article: false
    api:
      items_path: items
      fields: {{url: u, title: t}}
      pagination: {{style: next_url, next_field: next}}
"""
    )
    report = by_source(run_collect(sources, db=store, settings=fast_settings()))
    for source_id in ("listing", "links", "api"):
        assert (report[source_id].status, report[source_id].items_new) == ("ok", 1), source_id
        assert report[source_id].error_kind == "not_http", source_id
    assert "2 links refused" in report["listing"].error_message
    assert "2 links refused" in report["api"].error_message
    assert {i.url for i in iter_items(store)} == {web.url(f"/actu/{n}") for n in (1, 2, 3)}


def test_a_redirect_loop_or_an_undecodable_body_says_so(web, store) -> None:  # noqa: ANN001
    # Both were 'error' ("an unexpected error"), which reads as a bug of watcher's.
    web.routes["/loop.xml"] = Reply(status=302, headers={"Location": "/loop2.xml"})
    web.routes["/loop2.xml"] = Reply(status=302, headers={"Location": "/loop.xml"})
    web.routes["/lie.xml"] = Reply(
        b"<rss>not gzip at all</rss>",
        content_type="application/rss+xml",
        headers={"Content-Encoding": "gzip"},
    )
    serve_feed(web, "/feed.xml", 1)
    text = "sources:\n" + "".join(
        feed_source(name, web.url(f"/{name}.xml")) for name in ("loop", "lie", "feed")
    )
    report = by_source(run_collect(sources_from(text), db=store, settings=fast_settings()))
    assert (report["loop"].status, report["loop"].error_kind) == ("failed", "redirect_loop")
    assert (report["lie"].status, report["lie"].error_kind) == ("failed", "bad_encoding")
    assert (report["feed"].status, report["feed"].items_new) == ("ok", 1)


def test_past_the_cap_a_stored_entry_is_still_taken_and_a_new_one_left(web, store) -> None:  # noqa: ANN001
    # A long listing's URLs are looked up in one query (one each made 50,000 entries
    # cost 45 s a run); the answer must be the same as asking entry by entry.
    from watcher.store.schema import item_sources

    entry = {name: (web.url(f"/s/{name}"), f"Entrée {name}", "r") for name in "abc"}
    web.routes["/f.xml"] = Reply(rss([entry["a"]]), content_type="application/rss+xml")
    web.routes["/g.xml"] = Reply(
        rss([entry["b"], entry["a"], entry["b"], entry["c"]]), content_type="application/rss+xml"
    )
    no_fetch = "    fetch_article: false\n"
    settings = fast_settings(max_items_per_source=1)
    run_collect(sources_from("sources:\n" + feed_source("f", web.url("/f.xml"), no_fetch)),
                db=store, settings=settings)  # fmt: skip
    g = sources_from("sources:\n" + feed_source("g", web.url("/g.xml"), no_fetch))
    report = by_source(run_collect(g, db=store, settings=settings))["g"]
    assert (report.items_new, report.error_kind) == (1, "truncated")
    with store.connect() as c:
        stored = dict(c.execute(select(items.c.title, items.c.id)).all())
        by_g = set(
            c.execute(
                select(item_sources.c.item_id).where(item_sources.c.source_id == "g")
            ).scalars()
        )
    assert set(stored) == {"Entrée a", "Entrée b"}  # c waits for the next run
    assert by_g == {stored["Entrée a"], stored["Entrée b"]}  # a, though past the cap, is g's too


def test_a_killed_crawls_temporary_folder_is_removed_by_the_next(
    web, store, tmp_path, monkeypatch
) -> None:  # noqa: ANN001, E501
    """A crawl whose parent was killed left its job file (the database URL) and log
    in the temporary folder for good; the next crawl removes them, and only them."""
    import subprocess
    import sys
    import tempfile

    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                          capture_output=True, text=True, check=True)  # fmt: skip
    killed = tmp_path / f"watcher-crawl-{int(dead.stdout)}-x1y2z3"
    killed.mkdir()
    (killed / "job.json").write_text("{}", encoding="utf-8")
    running = tmp_path / f"watcher-crawl-{os.getppid()}-a1b2c3"  # a live process's
    running.mkdir()
    unknown = tmp_path / "watcher-crawl-notes"
    unknown.mkdir()
    older_version = tmp_path / "watcher-crawl-k3j_9x2a"  # no pid: gone once a day old
    (older_version / "job.json").parent.mkdir()
    (older_version / "job.json").write_text("{}", encoding="utf-8")
    day_ago = time.time() - 2 * 86400
    os.utime(older_version / "job.json", (day_ago, day_ago))
    os.utime(older_version, (day_ago, day_ago))
    recent_older = tmp_path / "watcher-crawl-abcd1234"  # may still be at work
    recent_older.mkdir()

    serve_feed(web, "/feed.xml", 1)
    sources = sources_from("sources:\n" + feed_source("feed", web.url("/feed.xml")))
    report = run_collect(sources, db=store, settings=fast_settings())
    assert by_source(report)["feed"].status == "ok"
    assert not killed.exists() and not older_version.exists()
    assert sorted(p.name for p in tmp_path.glob("watcher-crawl-*")) == sorted(
        [running.name, unknown.name, recent_older.name]
    )  # the crawl's own folder is gone too
