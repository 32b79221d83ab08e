"""The desk without a browser: binding rule, CSRF on every form, undo, search,
editions, subscribers."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest
from starlette.routing import Route

from tests.desk.builder import WEEK, build_store
from watcher.deliver import add_subscriber
from watcher.desk.accounts import authenticate, create_user
from watcher.desk.app import create_app, routes
from watcher.desk.security import check_bind, is_loopback
from watcher.exceptions import ConfigError, PublishError
from watcher.publish.bulletin import build_bulletin
from watcher.store import Store
from watcher.store.bulletins import entries, is_published
from watcher.store.delivery import begin_attempt, finish_attempt, get_subscriber
from watcher.store.desk import list_decisions
from watcher.store.labels import effective_labels

from .conftest import BEFORE_WEEK, PASSWORD, USER, desk_client, log_in


def _serve(db: str, *args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "watcher", "--db", db, "serve", *args],
        capture_output=True,
        text=True,
        timeout=60,
        env={**os.environ, "WATCHER_SETTINGS": ""},
    )


def test_serve_without_account_refuses_a_non_loopback_address(tmp_path):
    result = _serve(str(tmp_path / "w.db"), "--host", "0.0.0.0", "--port", "0")
    assert result.returncode == 2
    assert "refusing to listen on 0.0.0.0" in result.stderr
    assert "watcher users add" in result.stderr


def test_bind_rule():
    assert is_loopback("127.0.0.1") and is_loopback("::1") and is_loopback("localhost")
    assert not is_loopback("0.0.0.0") and not is_loopback("192.168.1.10")
    check_bind("127.0.0.1", 0)
    check_bind("0.0.0.0", 1)
    with pytest.raises(ConfigError):
        check_bind("192.168.1.10", 0)


def test_every_curator_post_route_checks_csrf():
    posts = [r for r in routes() if isinstance(r, Route) and r.methods and "POST" in r.methods]
    unprotected = [r.path for r in posts if not getattr(r.endpoint, "csrf_protected", False)]
    # the readers' pages (signed links, no session) are mounted apart: watcher.desk.public
    assert unprotected == []


def _post(client, path, **data):  # noqa: ANN001, ANN202
    return client.post(path, data={"csrf": client.csrf, **data}, follow_redirects=False)


def test_wrong_password_is_refused(store, desk_settings):
    create_user(store, USER, PASSWORD)
    client = desk_client(create_app(store, desk_settings))
    bad = log_in(client, password="nope")
    assert bad.status_code == 401 and "incorrect" in bad.text
    for _ in range(3):
        log_in(client, password="nope")
    # four failures in a row: the next try must wait, even with the right password
    late = log_in(client)
    assert late.status_code == 429 and "Trop d’essais" in late.text
    assert client.get("/abonnes", follow_redirects=False).status_code == 303
    assert not authenticate(store, "personne", PASSWORD)


def test_without_accounts_only_loopback_clients_get_in(store, desk_settings):
    build_store(store)
    local = desk_client(create_app(store, desk_settings))
    assert "Aucun compte de curateur" in local.get(f"/semaine/{WEEK}").text
    remote = desk_client(create_app(store, desk_settings), client=("192.168.1.20", 50000))
    assert remote.get(f"/semaine/{WEEK}", follow_redirects=False).status_code == 303


def test_changes_are_decisions_and_undo_reapplies_before(client):
    ids, store = client.ids, client.store
    item = ids["reut"]
    _post(client, f"/semaine/{WEEK}/element/{item}/statut", status="dropped")
    _post(
        client,
        f"/semaine/{WEEK}/element/{item}/etiquettes",
        type="reglementation",
        themes=["eau", "decarbonation"],
        axes="veille",
        scope="grand_est",
        deadline="",
    )
    assert entries(store, WEEK)[item]["status"] == "dropped"
    labels = effective_labels(store, [item])[item]
    assert labels.themes == ["decarbonation", "eau"] and labels.scope == "grand_est"
    decisions = list_decisions(store, week=WEEK)
    fields = [d["field"] for d in decisions]
    assert fields == ["labels.scope", "labels.themes", "status"]  # newest first; only changes
    scope = decisions[0]
    assert (scope["before"], scope["after"], scope["user"]) == ("france", "grand_est", USER)
    for decision in decisions:
        assert _post(client, f"/decisions/{decision['id']}/annuler").status_code == 303
    assert entries(store, WEEK)[item]["status"] == "kept"  # as the automatic selection had it
    labels = effective_labels(store, [item])[item]
    assert labels.themes == ["eau"] and labels.scope == "france"
    again = _post(client, f"/decisions/{decisions[0]['id']}/annuler")
    assert again.status_code == 303
    assert "Cette modification a déjà été annulée." in client.get(f"/semaine/{WEEK}").text
    assert sum(1 for d in list_decisions(store, week=WEEK) if d["undo_of"]) == 3


def test_first_change_keeps_the_automatic_selection(client):
    store, ids = client.store, client.ids
    before = {e.item_id for e in build_bulletin(store, WEEK, client.settings).entries}
    _post(client, f"/semaine/{WEEK}/element/{ids['guide']}/statut", status="dropped")
    after = {e.item_id for e in build_bulletin(store, WEEK, client.settings).entries}
    assert after == before - {ids["guide"]}


def test_order_within_a_section(client):
    store, ids = client.store, client.ids
    _post(client, f"/semaine/{WEEK}/element/{ids['piege']}/deplacer", direction="up")
    section = next(
        s for s in build_bulletin(store, WEEK, client.settings).sections if s.id == "actualite"
    )
    assert [e.item_id for e in section.entries] == [ids["piege"], ids["mutualisation"]]
    move = list_decisions(store, week=WEEK)[0]
    _post(client, f"/decisions/{move['id']}/annuler")
    section = next(
        s for s in build_bulletin(store, WEEK, client.settings).sections if s.id == "actualite"
    )
    assert [e.item_id for e in section.entries] == [ids["mutualisation"], ids["piege"]]


def test_search_pulls_an_older_item_into_the_week(client):
    store, ids = client.store, client.ids
    page = client.get("/recherche", params={"q": "gisements lorraine", "semaine": WEEK})
    assert "Étude des gisements de chaleur fatale en Lorraine" in page.text
    assert f"/semaine/{WEEK}/element/{ids['ancien']}/ajouter" in page.text
    assert client.get("/recherche", params={"q": 'chaleur" OR *'}).status_code == 200
    _post(client, f"/semaine/{WEEK}/element/{ids['ancien']}/ajouter")
    assert ids["ancien"] in {
        e.item_id for e in build_bulletin(store, WEEK, client.settings).entries
    }


def test_publish_freezes_until_a_new_edition(client):
    store, ids = client.store, client.ids
    _post(client, f"/semaine/{WEEK}/publier")
    assert is_published(store, WEEK)
    _post(client, f"/semaine/{WEEK}/element/{ids['reut']}/statut", status="dropped")
    assert (
        "Le bulletin 2026-W48 est publié : ouvrez une nouvelle édition"
        in client.get(f"/semaine/{WEEK}").text
    )
    assert ids["reut"] in {e.item_id for e in build_bulletin(store, WEEK, client.settings).entries}
    _post(client, f"/semaine/{WEEK}/element/{ids['reut']}/etiquettes", type="actualite")
    assert effective_labels(store, [ids["reut"]])[ids["reut"]].type == "reglementation"
    _post(client, f"/semaine/{WEEK}/nouvelle-edition")
    assert not is_published(store, WEEK)
    _post(client, f"/semaine/{WEEK}/element/{ids['reut']}/statut", status="dropped")
    _post(client, f"/semaine/{WEEK}/publier")
    bulletin = build_bulletin(store, WEEK, client.settings)
    assert bulletin.edition == 2 and ids["reut"] not in {e.item_id for e in bulletin.entries}


def test_the_archive_rebuild_flash_is_coloured_by_its_outcome_not_its_words(client, monkeypatch):
    # The kind was guessed from « reconstruite dans » in the message: a failure
    # whose detail held those words was shown as a success.
    import watcher.publish.site as site

    def broken(store, settings):  # noqa: ANN001, ANN202
        raise PublishError(f"sortie non reconstruite dans {settings.publish.site_dir}")

    monkeypatch.setattr(site, "build_site", broken)
    _post(client, f"/semaine/{WEEK}/publier")
    page = " ".join(client.get(f"/semaine/{WEEK}").text.split())
    assert is_published(client.store, WEEK)  # the publication stands
    assert '<p class="flash error" role="status">Bulletin publié, mais l’archive' in page
    monkeypatch.undo()
    _post(client, f"/semaine/{WEEK}/nouvelle-edition")
    _post(client, f"/semaine/{WEEK}/publier")
    page = " ".join(client.get(f"/semaine/{WEEK}").text.split())
    assert '<p class="flash info" role="status">Archive reconstruite dans' in page


def test_the_subscribers_page_shows_the_last_send(client):
    store = client.store
    assert "Dernier envoi, semaine" not in client.get("/abonnes").text  # nothing sent yet
    _post(client, "/abonnes/ajouter", email="ok@example.org")
    _post(client, "/abonnes/ajouter", email="refuse@example.org")
    _post(client, "/abonnes/ajouter", email="peut-etre@example.org")
    for email, status, error in (
        ("ok@example.org", "sent", None),
        ("refuse@example.org", "failed", "refused: 550 5.1.1 <refuse@example.org>: no such user"),
        ("peut-etre@example.org", "uncertain", "after DATA: connection closed"),
    ):
        reader = get_subscriber(store, email=email)
        row = begin_attempt(
            store, week=WEEK, edition=1, subscriber_id=reader["id"], email=email, items=2
        )
        finish_attempt(store, row["id"], status=status, error=error)
    page = client.get("/abonnes").text
    summary = " ".join(page.split('<p id="dernier-envoi">')[1].split("</p>")[0].split())
    assert summary.startswith(f"Dernier envoi, semaine {WEEK} : 1 envoyé, 1 en échec, 1 incertain.")
    assert f"watcher send --week {WEEK} --retry-uncertain" in summary
    assert "retenté au prochain envoi" in summary
    assert (
        '<td class="message-failed">en échec <small>(refused: 550 5.1.1 &lt;refuse@example.org&gt;'
        in page
    )
    assert '<td class="message-uncertain">incertain</td>' in page
    assert '<td class="message-sent">envoyé</td>' in page


def test_subscribers_in_the_desk(client, tmp_path):
    store = client.store
    _post(client, "/abonnes/ajouter", email="anim@example.org", name="Anim", themes=["eau"])
    assert get_subscriber(store, email="anim@example.org")["themes"] == ["eau"]
    _post(client, "/abonnes/ajouter", email="pas une adresse")
    page = client.get("/abonnes").text
    assert "Adresse e-mail non valide : « pas une adresse »" in page  # flashed, in French
    assert "not a valid" not in page
    _post(client, "/abonnes/ajouter", email="b@example.org", themes=["nope"])
    assert "Thèmes : identifiant(s) inconnu(s) nope" in client.get("/abonnes").text
    _post(client, "/abonnes/retirer", email="personne@example.org")
    assert "Aucun·e abonné·e &lt;personne@example.org&gt;" in client.get("/abonnes").text
    csv_data = b"email,name,themes\nx@example.org,X,energie\nmauvais,Y,eau\n"
    response = client.post(
        "/abonnes/importer",
        data={"csrf": client.csrf},
        files={"file": ("liste.csv", csv_data, "text/csv")},
    )
    assert response.status_code == 200
    assert "liste.csv: ligne 3 : champ « email » : adresse e-mail non valide" in response.text
    latin1 = client.post(
        "/abonnes/importer",
        data={"csrf": client.csrf},
        files={"file": ("l.csv", "email\né@example.org\n".encode("latin-1"), "text/csv")},
    )
    assert "l.csv: fichier illisible : pas en UTF-8" in latin1.text
    assert get_subscriber(store, email="x@example.org") is not None
    _post(client, "/abonnes/retirer", email="anim@example.org")
    assert get_subscriber(store, email="anim@example.org")["status"] == "unsubscribed"


def _listed(page: str) -> list[str]:
    """The addresses in the Abonnés table, in order."""
    return re.findall(r'<tr class="\w+">\s*<td>([^<]+)</td>', page)


def test_the_subscribers_page_finds_a_reader_by_address_or_name(client):
    store = client.store
    for email, name in [
        ("Marie.Dupont@Ville.fr", "Marie Dupont"),
        ("contact@ademe.fr", "Élodie Martin"),
        ("eau@example.org", "Service de l'eau"),
        ("50%_off@example.org", "Promo"),
    ]:
        add_subscriber(store, email, name, created_at=BEFORE_WEEK)
    every = client.get("/abonnes").text
    assert len(_listed(every)) == 4 and "4 abonné·e(s)" in every
    by_address = client.get("/abonnes", params={"q": "DUPONT@ville"}).text
    assert _listed(by_address) == ["Marie.Dupont@Ville.fr"]
    assert "1 abonné·e(s) sur 4 pour « DUPONT@ville »" in by_address
    assert 'name="q" type="search" value="DUPONT@ville"' in by_address
    assert _listed(client.get("/abonnes", params={"q": " martin "}).text) == ["contact@ademe.fr"]
    accented = client.get("/abonnes", params={"q": "élodie"}).text  # SQLite's lower() skips É
    assert _listed(accented) == ["contact@ademe.fr"]
    assert _listed(client.get("/abonnes", params={"q": "%_"}).text) == ["50%_off@example.org"]
    none = client.get("/abonnes", params={"q": "personne"}).text
    assert _listed(none) == [] and "Aucun abonné ne correspond à « personne »." in none
    assert "0 abonné·e(s) sur 4" in none and '<a href="/abonnes">Tout afficher</a>' in none
    assert client.get("/abonnes", params={"q": "x" * 5000}).status_code == 200
    # Unsubscribing from the results comes back to them, not to the whole list.
    assert 'name="q" value="DUPONT@ville"' in by_address
    back = _post(client, "/abonnes/retirer", email="Marie.Dupont@Ville.fr", q="DUPONT@ville")
    assert back.headers["location"] == "/abonnes?q=DUPONT%40ville"
    assert get_subscriber(store, email="marie.dupont@ville.fr")["status"] == "unsubscribed"


def test_pages_render(client):
    for path in (
        f"/semaine/{WEEK}",
        f"/semaine/{WEEK}/apercu",
        f"/semaine/{WEEK}/apercu/email",
        "/abonnes",
        "/sources",
        "/modele",
        f"/semaine/{WEEK}/journal",
    ):
        response = client.get(path)
        assert response.status_code == 200, path
    preview = client.get(f"/semaine/{WEEK}/apercu/email", params={"theme": "eau"})
    assert "Décret sur la réutilisation" in preview.text
    assert "chaleur fatale des sites" not in preview.text
    assert "script-src" not in preview.headers["content-security-policy"]
    missing = client.get("/semaine/2026-W99")
    assert missing.status_code == 404 and "Semaine « 2026-W99 » invalide" in missing.text


def test_sources_page_shows_health_from_sources_yaml(store, desk_settings):
    from types import SimpleNamespace

    build_store(store)
    create_user(store, USER, PASSWORD)
    sources = SimpleNamespace(
        sources=[
            SimpleNamespace(id="ademe", name="ADEME – appels", kind="rss", enabled=True),
            SimpleNamespace(id="muette", name="Source muette", kind="html", enabled=True),
        ]
    )
    client = desk_client(create_app(store, desk_settings, sources))
    log_in(client)
    page = client.get("/sources").text
    assert "ADEME – appels" in page and "Source muette" in page
    assert "jamais collectée" in page  # the collect stage's warning, in French
    assert "Alertes en cours" not in page


def test_sources_page_shows_the_schedulers_open_alerts(store, desk_settings):
    from watcher.store.jobs import raise_alert, resolve_alerts

    build_store(store)
    create_user(store, USER, PASSWORD)
    raise_alert(store, "source_failing", "demo-panne-500", "3 collectes de suite en échec")
    raise_alert(store, "source_failing", "ademe", "<b>2</b> collectes en échec")
    resolve_alerts(store, "source_failing", "ademe")
    client = desk_client(create_app(store, desk_settings, None))
    log_in(client)
    page = client.get("/sources").text
    assert "Alertes en cours (1)" in page
    assert "demo-panne-500" in page and "3 collectes de suite en échec" in page
    assert "<b>2</b>" not in page  # resolved, and escaped anyway


def test_text_from_the_web_cannot_run_in_the_desk(client):
    from watcher.models import CollectedItem
    from watcher.store.items import save_item

    from .builder import IN_WEEK

    evil, _new = save_item(
        client.store,
        CollectedItem(
            source_id="x",
            url="https://example.org/evil",
            title='<script>alert("titre")</script><img src=x onerror=alert(1)>',
            text="Un texte avec <script>alert('texte')</script> et des déchets recyclés.",
            language="fr",
        ),
        now=IN_WEEK,
    )
    page = client.get(f"/semaine/{WEEK}").text
    assert f'id="item-{evil}"' in page
    assert "<script>alert" not in page and "<img src=x" not in page
    assert "&lt;script&gt;alert(&#34;titre&#34;)" in page
    found = client.get("/recherche", params={"q": "déchets recyclés"}).text
    assert "<script>alert" not in found
    assert 'href="javascript:' not in page


def test_removing_an_account_ends_its_sessions(client):
    from watcher.store.desk import delete_user

    assert client.get("/abonnes", follow_redirects=False).status_code == 200
    create_user(client.store, "autre", "un-autre-mot-de-passe")  # accounts still exist
    delete_user(client.store, USER)
    assert client.get("/abonnes", follow_redirects=False).status_code == 303


def test_serve_on_a_busy_port_is_one_error_line(tmp_path):
    import socket

    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen(1)
    port = busy.getsockname()[1]
    try:
        result = _serve(str(tmp_path / "w.db"), "--host", "127.0.0.1", "--port", str(port))
    finally:
        busy.close()
    assert result.returncode == 1, result.stderr
    assert f"Error: 127.0.0.1:{port}: cannot listen: Address already in use" in result.stderr
    assert "Traceback" not in result.stderr and "ERROR:" not in result.stderr


def test_serve_on_a_blank_host_says_how_to_listen_everywhere(tmp_path):
    """A blank desk.host is refused before anything listens, account or not."""
    db = tmp_path / "w.db"
    store = Store(db)
    create_user(store, "curatrice", "un-mot-de-passe-assez-long")
    store.close()
    settings = tmp_path / "w.toml"
    settings.write_text('[desk]\nhost = ""\n', encoding="utf-8")
    result = subprocess.run(
        [sys.executable, "-m", "watcher", "--db", str(db), "--settings", str(settings), "serve"],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert result.returncode == 2, result.stderr
    assert result.stderr.startswith("Error: desk.host = '': no address to listen on\n")
    assert "0.0.0.0 to listen on every interface" in result.stderr


def test_listen_on_an_unknown_host_names_it():
    from watcher.desk.app import listen
    from watcher.exceptions import WatcherError

    with pytest.raises(
        WatcherError, match="no-such-host.invalid:8000: cannot listen: unknown host"
    ):
        listen("no-such-host.invalid", 8000)


def test_starlette_refusals_are_french_pages(client):
    missing = client.get("/nope")
    assert missing.status_code == 404 and "Page introuvable" in missing.text
    assert "<html lang='fr'>" in missing.text and "Not Found" not in missing.text
    reader_missing = client.get("/abonnement/nope")
    assert reader_missing.status_code == 404 and "Page introuvable" in reader_missing.text
    wrong_method = client.put("/connexion")
    assert wrong_method.status_code == 405 and "Action impossible" in wrong_method.text
    assert "GET" in wrong_method.headers["allow"]
    no_boundary = client.post(
        "/abonnes/importer", content=b"x", headers={"content-type": "multipart/form-data"}
    )
    assert no_boundary.status_code == 400, no_boundary.text
    assert "Requête invalide" in no_boundary.text and "boundary" not in no_boundary.text
    # a boundary announced but not in the body: python-multipart's own error, was a 500
    no_part = client.post(
        "/abonnes/importer",
        content=b"x",
        headers={"content-type": "multipart/form-data; boundary=b"},
    )
    assert no_part.status_code == 400 and "Requête invalide" in no_part.text, no_part.text


def _statements(store: Store, run) -> list[tuple[str, object]]:  # noqa: ANN001
    """The SQL statements (and parameters) ``run()`` makes the store execute."""
    from sqlalchemy import event

    seen: list[tuple[str, object]] = []

    def record(_conn, _cursor, statement, parameters, _context, _many) -> None:  # noqa: ANN001
        seen.append((statement, parameters))

    event.listen(store.engine, "before_cursor_execute", record)
    try:
        run()
    finally:
        event.remove(store.engine, "before_cursor_execute", record)
    return seen


def test_the_home_page_finds_the_latest_week_without_reading_every_item(client):
    from datetime import datetime

    from watcher.base.clock import PARIS
    from watcher.base.weeks import week_of

    current = week_of(datetime.now(PARIS))
    answers = []
    statements = _statements(
        client.store, lambda: answers.append(client.get("/", follow_redirects=False))
    )
    # the builder's newest items are in WEEK: this week while it lasts, else the latest
    assert answers[0].headers["location"] == f"/semaine/{min(WEEK, current)}"
    if client.store.is_sqlite:  # every sign-in lands here: no statement reads all items
        with client.store.connect() as conn:
            plans = [
                row[-1]
                for statement, parameters in statements
                if statement.lstrip().upper().startswith("SELECT")
                for row in conn.exec_driver_sql("EXPLAIN QUERY PLAN " + statement, parameters)
            ]
        assert not [p for p in plans if p.startswith("SCAN items")], plans


@pytest.mark.sqlite_only  # SQLite's one writer at a time
def test_a_database_busy_with_another_writer_is_a_french_503(client, monkeypatch):
    """A crawl or a send holding the write lock past the busy timeout: the curator
    read « Une erreur inattendue » (500) for what is a wait."""
    import sqlite3

    monkeypatch.setattr("watcher.store.BUSY_TIMEOUT_S", 0.2)
    client.store.engine.dispose()  # new connections take the short timeout
    item = client.ids["reut"]
    holder = sqlite3.connect(client.store.path, isolation_level=None)
    holder.execute("BEGIN IMMEDIATE")
    from starlette.testclient import TestClient

    # as a browser gets it: the app's own error page, not the exception
    browser = TestClient(client.app, base_url="http://127.0.0.1", raise_server_exceptions=False)
    browser.cookies = client.cookies
    browser.csrf = client.csrf
    try:
        busy = _post(browser, f"/semaine/{WEEK}/element/{item}/statut", status="dropped")
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert busy.status_code == 503 and busy.headers["retry-after"] == "30"
    assert "Base de données occupée" in busy.text and "rien n’a été enregistré" in busy.text
    assert list_decisions(client.store, week=WEEK) == []
    again = _post(client, f"/semaine/{WEEK}/element/{item}/statut", status="dropped")
    assert again.status_code == 303 and len(list_decisions(client.store, week=WEEK)) == 1
