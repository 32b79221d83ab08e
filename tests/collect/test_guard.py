"""No SSRF: what a feed links to is fetched only if it is http(s) and public, checked
after DNS and at every redirect (watcher.collect.guard). Local servers stand for the
public web (the sources are configured on them) and for the machine's internal services
(a second server, which must never see a request)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.collect.conftest import Reply, WebServer, article, fast_settings, rss, sources_from
from watcher.collect import run_collect
from watcher.collect.guard import UrlGuard, internal_origins, is_public
from watcher.store.items import iter_items

FAKE_DNS = Path(__file__).parent / "fake_dns"
SECRET = "Console interne : clef de service 7f3c9a, comptes des abonnés"


def admin_page() -> bytes:
    paragraphs = "".join(f"<p>{SECRET}, ligne {i} du tableau de bord.</p>" for i in range(30))
    return (
        "<html lang='fr'><head><meta charset='utf-8'><title>Administration</title></head>"
        f"<body><article><h1>Administration</h1>{paragraphs}</article></body></html>"
    ).encode()


@pytest.fixture
def internal() -> Iterator[WebServer]:
    """A service of the machine the crawl runs on: it must never be asked anything."""
    server = WebServer()
    server.routes["/admin"] = Reply(admin_page())
    server.routes["/feed.xml"] = Reply(
        rss([(server.url("/admin"), "Admin", SECRET)]), content_type="application/rss+xml"
    )
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def feed(source_id: str, url: str) -> str:
    return f"  - id: {source_id}\n    name: {source_id}\n    kind: rss\n    url: {url}\n"


def everything_stored(tmp_path: Path) -> bytes:
    """The database's bytes, write-ahead log included: what publish could ever show."""
    return b"".join(path.read_bytes() for path in tmp_path.glob("watcher.db*"))


# --- the rule ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("address", "public"),
    [
        ("93.184.216.34", True),
        ("2606:2800:220:1:248:1893:25c8:1946", True),
        ("127.0.0.1", False),
        ("127.1.2.3", False),
        ("10.0.0.8", False),
        ("172.16.5.4", False),
        ("192.168.1.1", False),
        ("169.254.169.254", False),  # cloud metadata
        ("100.64.0.1", False),  # carrier-grade NAT
        ("0.0.0.0", False),
        ("224.0.0.251", False),  # multicast
        ("240.0.0.1", False),  # reserved
        ("255.255.255.255", False),
        ("::1", False),
        ("::", False),
        ("fe80::1", False),
        ("fd12:3456::1", False),  # unique local
        ("ff02::1", False),
        ("::ffff:127.0.0.1", False),  # IPv4-mapped
        ("::ffff:10.0.0.1", False),
        ("2002:7f00:1::", False),  # 6to4 around 127.0.0.1
        ("2002:c0a8:101::", False),  # 6to4 around 192.168.1.1
    ],
)
def test_only_public_addresses_are_public(address: str, public: bool) -> None:
    assert is_public(address) is public


@pytest.mark.parametrize(
    ("url", "source", "kind"),
    [
        ("http://127.0.0.1:8000/a", "local", None),  # the source's own host and port
        ("https://127.0.0.1:8000/a", "local", None),
        ("http://127.0.0.1:8001/admin", "local", "internal_address"),  # another port
        ("http://localhost:8000/a", "local", "internal_address"),  # another spelling
        ("http://127.0.0.1:8000/a", "public", "internal_address"),  # another source's
        ("http://127.0.0.1:8000/robots.txt", None, None),  # robots.txt of a source
        ("http://10.1.2.3/", "public", "internal_address"),
        ("http://[::1]:8000/", "local", "internal_address"),
        ("http://[::ffff:7f00:1]:8000/", "local", "internal_address"),
        ("http://169.254.169.254/latest/meta-data/", "public", "internal_address"),
        ("http://2130706433:8702/secret", "public", "internal_address"),  # 127.0.0.1 as one number
        ("http://0x7f000001/", "public", "internal_address"),
        ("http://0177.0.0.1/", "public", "internal_address"),  # octal
        ("http://127.1/", "public", "internal_address"),
        ("http://0xA9.0xFE.0xA9.0xFE/", "public", "internal_address"),  # 169.254.169.254
        ("http://1572395042/", "public", None),  # 93.184.216.34 as one number: public
        ("http://face.be/", "public", None),  # hexadecimal letters, but a name
        # Spellings that urlsplit reads as a name, but a browser, Scrapy and the store
        # (canonical_url) as 127.0.0.1 or localhost.
        ("http://127\u30020\u30020\u30021/", "public", "internal_address"),  # ideographic dots
        ("http://\uff11\uff12\uff17.0.0.1/", "public", "internal_address"),  # full-width digits
        ("http://127.0.0.%31/", "public", "internal_address"),  # a percent-escape in the host
        ("http://localhost%2e/", "public", "internal_address"),
        (
            "http://\uff4c\uff4f\uff43\uff41\uff4c\uff48\uff4f\uff53\uff54/",
            "public",
            "internal_address",
        ),
        ("http://127.0.0.1\\@example.org/", "public", "internal_address"),  # "\" ends the host
        ("http://\uff11\uff12\uff17.0.0.1:8000/a", "local", None),  # the source's own origin
        ("https://caf\u00e9.example/a b?q=\u00e9", "public", None),
        ("http://api.localhost/", "public", "internal_address"),
        ("https://example.org/a", "public", None),  # a name: the resolver checks it
        ("http://93.184.216.34/", "public", None),
        ("file:///etc/passwd", "public", "not_http"),
        ("ftp://example.org/f", "public", "not_http"),
        ("data:text/html;base64,PHA+eDwvcD4=", "public", "not_http"),
        ("javascript:alert(1)", "public", "not_http"),
        ("gopher://example.org/", "public", "not_http"),
        ("/relative/link", "public", "not_http"),
        ("http://", "public", "not_http"),
    ],
)
def test_the_guard_rule(url: str, source: str | None, kind: str | None) -> None:
    sources = sources_from(
        "sources:\n"
        + feed("local", "http://127.0.0.1:8000/feed.xml")
        + feed("public", "https://example.org/feed.xml")
    )
    guard = UrlGuard(internal_origins(sources.sources))
    refused = guard.refusal(url, source)
    assert (refused[0] if refused else None) == kind


def test_only_sources_on_a_literal_internal_address_or_localhost_are_internal() -> None:
    sources = sources_from(
        "sources:\n"
        + feed("a", "http://127.0.0.1:8000/f")
        + feed("b", "https://LOCALHOST/f")
        + feed("c", "http://192.168.0.10/f")
        + feed("d", "https://intranet.example.lan/f")  # a name: resolved, and refused
        + feed("e", "https://example.org/f")
    )
    assert internal_origins(sources.sources) == {
        "a": "127.0.0.1:8000",
        "b": "localhost:443",
        "c": "192.168.0.10:80",
    }


# --- a real crawl ---------------------------------------------------------------------------


def test_a_hostile_feed_cannot_make_the_crawl_fetch_an_internal_service(
    web, internal, store, tmp_path
) -> None:  # noqa: ANN001
    web.routes["/go"] = Reply(b"", status=302, headers={"Location": internal.url("/admin")})
    web.routes["/ok"] = Reply(article("Un vrai article", 1))
    entries = [
        (internal.url("/admin"), "Lien direct", "Résumé admin"),
        (web.url("/go"), "Lien qui redirige", "Résumé redirection"),
        ("file:///etc/passwd", "Fichier", "r"),
        ("data:text/plain;base64,SGVsbG8=", "Data", "r"),
        ("javascript:alert(1)", "Script", "r"),
        ("ftp://127.0.0.1/x", "FTP", "r"),
        (web.url("/ok"), "Un vrai article", "Résumé"),
    ]
    web.routes["/feed.xml"] = Reply(rss(entries), content_type="application/rss+xml")
    sources = sources_from("sources:\n" + feed("hostile", web.url("/feed.xml")))

    report = run_collect(sources, db=store, settings=fast_settings()).sources[0]

    assert internal.log == []  # not even its robots.txt
    assert report.status == "ok"
    assert report.error_kind == "internal_address"
    # Every refusal counted (5 links, 1 redirect), the first one named.
    assert report.error_message.startswith(f"6 links refused, the first: {internal.url('/admin')}")
    stored = {item.url: item for item in iter_items(store)}
    # Neither the internal link nor the file/data/javascript/ftp ones became items.
    assert set(stored) == {web.url("/go"), web.url("/ok")}
    assert stored[web.url("/ok")].complete and "Un vrai article" in stored[web.url("/ok")].text
    redirected = stored[web.url("/go")]
    assert not redirected.complete
    assert redirected.extra["fetch_error"].startswith("internal_address:")
    assert SECRET.encode() not in everything_stored(tmp_path)
    assert b"7f3c9a" not in everything_stored(tmp_path)


def test_no_spelling_of_an_internal_address_becomes_an_item(web, internal, store) -> None:  # noqa: ANN001
    """Without article fetching nothing is requested from these links: they were stored
    as items (canonical_url folds them into http://127.0.0.1:…) and republished."""
    port = internal.server_port
    entries = [
        (f"http://127\u30020\u30020\u30021:{port}/admin", "Points idéographiques", "r"),
        (f"http://\uff11\uff12\uff17.0.0.1:{port}/admin", "Chiffres pleine chasse", "r"),
        (f"http://127.0.0.%31:{port}/admin", "Échappement", "r"),
        (f"http://127.0.0.1:{port}\\@example.org/admin", "Barre oblique inverse", "r"),
        (web.url("/ok"), "Un vrai article", "Résumé"),
    ]
    web.routes["/feed.xml"] = Reply(rss(entries), content_type="application/rss+xml")
    sources = sources_from(
        "sources:\n" + feed("hostile", web.url("/feed.xml")) + "    fetch_article: false\n"
    )

    report = run_collect(sources, db=store, settings=fast_settings()).sources[0]

    assert (report.status, report.error_kind) == ("ok", "internal_address")
    assert report.error_message.startswith("4 links refused")
    assert [item.url for item in iter_items(store)] == [web.url("/ok")]
    assert internal.log == []


def test_a_source_redirected_to_an_internal_address_fails_clearly(web, internal, store) -> None:  # noqa: ANN001
    web.routes["/moved.xml"] = Reply(
        b"", status=301, headers={"Location": internal.url("/feed.xml")}
    )
    web.routes["/meta.xml"] = Reply(
        f'<html><head><meta http-equiv="refresh" content="0; url={internal.url("/feed.xml")}">'
        "</head><body></body></html>".encode()
    )
    sources = sources_from(
        "sources:\n" + feed("moved", web.url("/moved.xml")) + feed("meta", web.url("/meta.xml"))
    )
    reports = {
        r.source_id: r for r in run_collect(sources, db=store, settings=fast_settings()).sources
    }
    assert internal.log == []
    assert (reports["moved"].status, reports["moved"].error_kind) == ("failed", "internal_address")
    assert (reports["meta"].status, reports["meta"].error_kind) == ("failed", "internal_address")
    assert list(iter_items(store)) == []


def test_a_name_resolving_to_loopback_is_refused_after_dns(
    web, internal, store, tmp_path, monkeypatch
) -> None:  # noqa: ANN001
    # In the crawl process, these public-looking names resolve to 127.0.0.1.
    monkeypatch.setenv(
        "PYTHONPATH", os.pathsep.join(filter(None, [str(FAKE_DNS), os.environ.get("PYTHONPATH")]))
    )
    monkeypatch.setenv(
        "WATCHER_TEST_HOSTS", "rebound.example.org=127.0.0.1,feeds.example.net=127.0.0.1"
    )
    port, other = web.server_port, internal.server_port
    web.routes["/ok"] = Reply(article("Un vrai article", 2))
    web.routes["/page"] = Reply(admin_page())
    entries = [
        (f"http://rebound.example.org:{other}/admin", "Admin par un nom", "Résumé un"),
        (f"http://rebound.example.org:{port}/page", "Même port, autre nom", "Résumé deux"),
        (web.url("/ok"), "Un vrai article", "Résumé"),
    ]
    web.routes["/feed.xml"] = Reply(rss(entries), content_type="application/rss+xml")
    web.routes["/named.xml"] = Reply(rss([(web.url("/ok"), "Article", "r")]))
    sources = sources_from(
        "sources:\n"
        + feed("hostile", web.url("/feed.xml"))
        # A source configured by a name that resolves to this machine is not trusted.
        + feed("named", f"http://feeds.example.net:{port}/named.xml")
    )

    reports = {
        r.source_id: r for r in run_collect(sources, db=store, settings=fast_settings()).sources
    }

    assert internal.log == []
    assert [path for _method, path, _h in web.log if path in ("/page", "/named.xml")] == []
    hostile = reports["hostile"]
    assert (hostile.status, hostile.error_kind) == ("ok", "internal_address")
    assert "resolves to 127.0.0.1" in hostile.error_message
    named = reports["named"]
    assert (named.status, named.error_kind) == ("failed", "internal_address")
    stored = {item.url: item for item in iter_items(store)}
    assert stored[web.url("/ok")].complete
    for url in (
        f"http://rebound.example.org:{other}/admin",
        f"http://rebound.example.org:{port}/page",
    ):
        assert stored[url].extra["fetch_error"].startswith("internal_address:")
    assert SECRET.encode() not in everything_stored(tmp_path)


def test_sources_add_does_not_follow_a_page_to_another_local_server(web, internal) -> None:  # noqa: ANN001
    from watcher.collect.discover import discover_feeds

    web.routes["/"] = Reply(
        "<html><head><title>Site</title>"
        f'<link rel="alternate" type="application/rss+xml" href="{internal.url("/feed.xml")}">'
        "</head><body></body></html>".encode()
    )
    result = discover_feeds(web.url("/"), fast_settings().collect)
    assert result["title"] == "Site"
    assert result["feeds"] == []
    assert internal.log == []
