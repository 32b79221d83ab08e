"""The sources page: French health, pause/resume written to sources.yaml with a
comment, "collecter maintenant" through the crawl lock, a source added from a
web address by feed discovery (a local web on 127.0.0.1)."""

from __future__ import annotations

import logging
import threading
import time

import pytest

from tests.collect.conftest import Reply, WebServer, article, rss
from tests.shared import make_settings
from watcher.collect.lock import crawl_lock
from watcher.config import load_sources
from watcher.desk.accounts import create_user
from watcher.desk.app import create_app
from watcher.store.items import iter_items
from watcher.store.run_lock import lock_path

from .conftest import PASSWORD, USER, desk_client, log_in

SOURCES = """# Sources of the desk tests.

sources:

  # the one that works
  - id: actus
    name: "Actualités de test"
    kind: rss
    url: "{feed}"
    check_every: 6h
    enabled: true

  # gone for good (404)
  - id: disparu
    name: "Source disparue"
    kind: rss
    url: "{gone}"
"""


@pytest.fixture
def web():
    server = WebServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    entries = [(server.url(f"/a/{i}"), f"Économie circulaire {i}", "Résumé") for i in range(2)]
    server.routes["/feed.xml"] = Reply(rss(entries), content_type="application/rss+xml")
    for i in range(2):
        server.routes[f"/a/{i}"] = Reply(article(f"Économie circulaire {i}", 40 + i))
    server.routes["/site/"] = Reply(
        b'<html><head><title>Site de test</title><link rel="alternate" '
        b'type="application/rss+xml" href="/feed.xml"></head><body>Bonjour</body></html>'
    )
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def desk(store, tmp_path, web):
    path = tmp_path / "sources.yaml"
    path.write_text(SOURCES.format(feed=web.url("/feed.xml"), gone=web.url("/gone.xml")))
    settings = make_settings(tmp_path)
    create_user(store, USER, PASSWORD)
    app = create_app(store, settings, load_sources(path), sources_path=path)
    client = desk_client(app)
    log_in(client)
    client.path, client.store, client.settings, client.app_state = path, store, settings, app.state
    return client


def _post(client, path, **data):  # noqa: ANN001, ANN202
    return client.post(path, data={"csrf": client.csrf, **data}, follow_redirects=False)


def _wait(client) -> str:  # noqa: ANN001
    deadline = time.monotonic() + 90
    while time.monotonic() < deadline:
        job = client.app_state.collect_runner.current
        if job.status != "running":
            return job.status
        time.sleep(0.2)
    raise AssertionError("the desk's collect did not finish")


def test_pause_and_resume_are_written_to_sources_yaml(desk):
    assert _post(desk, "/sources/actus/pause").status_code == 303
    text = desk.path.read_text()
    assert f"enabled: false  # en pause depuis le bureau ({USER}, " in text
    assert "# the one that works" in text and "# gone for good (404)" in text  # comments kept
    assert not load_sources(desk.path).get("actus").enabled
    assert "en pause" in desk.get("/sources").text
    _post(desk, "/sources/disparu/pause")  # no `enabled:` line yet: one is added
    assert not load_sources(desk.path).get("disparu").enabled
    _post(desk, "/sources/actus/reprise")
    text = desk.path.read_text()
    assert "en pause depuis le bureau" in text  # disparu's note
    assert load_sources(desk.path).get("actus").enabled
    assert text.count("en pause depuis le bureau") == 1
    unknown = _post(desk, "/sources/absente/pause")
    assert unknown.status_code == 303
    assert "inconnue" in desk.get("/sources").text


def test_collect_now_through_the_crawl_lock_then_french_errors(desk):
    with crawl_lock(lock_path(desk.store, desk.settings.publish.output_dir)):
        _post(desk, "/sources/actus/collecter")
        assert _wait(desk) == "busy"
    assert "une autre collecte est en cours" in desk.get("/sources").text
    assert _post(desk, "/sources/actus/collecter").status_code == 303
    assert _wait(desk) == "done"
    assert len(list(iter_items(desk.store))) == 2
    page = desk.get("/sources").text
    assert "2 nouvel(s) élément(s)" in page, page[page.find("Collecte de") :][:400]
    _post(desk, "/sources/disparu/collecter")
    assert _wait(desk) == "failed"
    page = desk.get("/sources").text
    assert "page introuvable (404)" in page
    assert "HTTP 404 for" not in page and "failed in the last" not in page


def test_a_source_added_from_a_web_address(desk, web):
    answer = _post(desk, "/sources/ajouter", url=web.url("/site/"))
    assert answer.status_code == 303
    page = desk.get("/sources").text
    assert "ajoutée (1 flux trouvé(s))" in page
    text = desk.path.read_text()
    assert f"# added from the desk by {USER} on " in text
    added = [s for s in load_sources(desk.path).sources if s.id not in ("actus", "disparu")]
    assert len(added) == 1 and added[0].kind == "rss" and added[0].url == web.url("/feed.xml")
    assert added[0].id in page  # the page lists the new source at once
    bad = _post(desk, "/sources/ajouter", url="file:///etc/passwd")
    assert bad.status_code == 303 and "n’est pas une adresse http(s)" in desk.get("/sources").text
    assert len(load_sources(desk.path).sources) == 3


@pytest.mark.parametrize("url", ["http://[::1", "http://example.org:99999/feed"])
def test_a_web_address_no_crawl_can_fetch_is_refused_before_any_fetch(desk, url):
    # The first was a 500 (ValueError); the second was written into sources.yaml.
    answer = _post(desk, "/sources/ajouter", url=url)
    assert answer.status_code == 303
    assert f"« {url} » n’est pas une adresse valide" in desk.get("/sources").text
    assert len(load_sources(desk.path).sources) == 2


def _flash(client) -> str:  # noqa: ANN001
    page = client.get("/sources").text
    start = page.find('class="flash')
    return " ".join(page[start : page.find("</", start)].split())


def test_a_web_address_that_cannot_be_read_is_told_in_french(desk, web):
    # The crawl's own words were shown: "… : http_404: HTTP 404 for http://…".
    missing = web.url("/absente/")
    assert _post(desk, "/sources/ajouter", url=missing).status_code == 303
    message = _flash(desk)
    assert f"« {missing} » : page introuvable (404). Aucune source ajoutée" in message
    assert "http_404" not in message and "HTTP 404 for" not in message
    assert len(load_sources(desk.path).sources) == 2


def test_a_failed_discovery_crawl_shows_no_traceback(desk, monkeypatch):
    import watcher.collect.discover as discover

    def crashed(url, settings=None, timeout_s=120):  # noqa: ANN001, ANN202
        detail = 'the discovery crawl failed: Traceback (most recent call last):\n  File "x.py"'
        raise discover.DiscoveryError(url, "crawl_failed", detail)

    monkeypatch.setattr(discover, "discover_feeds", crashed)
    _post(desk, "/sources/ajouter", url="https://www.exemple.fr/actualites/")
    message = _flash(desk)
    assert "la recherche de flux a échoué (détail dans le journal du bureau)" in message
    assert "Traceback" not in message and "crawl" not in message


def test_a_pause_refused_for_a_file_with_several_problems_lists_each_one(desk):
    # The file edited by hand since the desk read it: the refusal names every problem,
    # one message each, with the file the curators know (not the desk's temporary copy).
    import html

    text = desk.path.read_text().replace("    check_every: 6h\n", "    check_every: soon\n")
    desk.path.write_text(
        text + "  - id: actus\n    name: b\n    kind: rss\n    url: https://b.fr/\n"
    )
    assert _post(desk, "/sources/disparu/pause").status_code == 303
    page = html.unescape(desk.get("/sources").text)
    assert "Modification refusée, le fichier des sources deviendrait invalide" in page
    assert "sources.yaml: source 'actus': check_every 'soon' is not a duration" in page
    assert "sources.yaml: duplicate source id 'actus' (sources #1 and #3)" in page
    assert "2 problems in sources.yaml" in page
    assert ".sources.yaml." not in page
    assert "enabled: false" not in desk.path.read_text()  # nothing was written


def test_an_unexpected_discovery_error_is_logged_with_its_detail(desk, monkeypatch, caplog):
    # The curator read « erreur inattendue » and the English detail was lost.
    import watcher.collect.discover as discover

    def failed(url, settings=None, timeout_s=120):  # noqa: ANN001, ANN202
        raise discover.DiscoveryError(url, "error", "error: SSLError('bad handshake')")

    monkeypatch.setattr(discover, "discover_feeds", failed)
    url = "https://www.exemple.fr/actualites/"
    with caplog.at_level(logging.WARNING, logger="watcher.desk.views_sources"):
        _post(desk, "/sources/ajouter", url=url)
    assert "erreur inattendue (détail dans le journal du bureau)" in _flash(desk)
    logged = [r.getMessage() for r in caplog.records if r.name == "watcher.desk.views_sources"]
    assert logged == [
        f"feed discovery: unexpected error for {url}: error: SSLError('bad handshake')"
    ]
