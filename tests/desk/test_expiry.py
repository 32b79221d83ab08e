"""A session that ends while a curator is typing: the 403 says so in French and
links to the sign-in page with the page to return to (a local path only), the
text typed is shown back, and desk.js can fetch the session's current CSRF token
once signed in again, without the token check being any weaker."""

from __future__ import annotations

import re
from urllib.parse import unquote

import pytest

from tests.desk.builder import WEEK
from watcher.desk.views_week import edition_state
from watcher.store.desk import end_sessions

from .conftest import log_in

PAGE = f"http://127.0.0.1/semaine/{WEEK}?type=actualite"
FETCH = {"X-Requested-With": "fetch"}


def _editorial(client) -> str:  # noqa: ANN001
    return edition_state(client.store, WEEK)["editorial"] or ""


def _sign_in_link(page: str) -> str:
    match = re.search(r"href='(/connexion\?suite=[^']*)'", page)
    assert match, page
    return match.group(1).replace("&amp;", "&")


@pytest.mark.parametrize("how", ["cookie expired", "session closed on the server"])
def test_a_plain_form_refused_for_an_expired_session_leads_back_to_the_page(client, how):
    token = client.csrf
    if how == "cookie expired":
        client.cookies.clear()  # the browser dropped it: its CSRF token is gone too
    else:
        end_sessions(client.store, "marie")  # e.g. signed out in another tab
    typed = "Bonne lecture <b>à tous</b> !"
    refused = client.post(
        f"/semaine/{WEEK}/mot",
        data={"csrf": token, "editorial": typed},
        headers={"Referer": PAGE},
        follow_redirects=False,
    )
    assert refused.status_code == 403
    assert "Votre session a expiré ou a été fermée : rien n’a été enregistré." in refused.text
    assert "Se reconnecter" in refused.text
    # what was typed, to copy (escaped: shown, never interpreted)
    assert "Bonne lecture &lt;b&gt;à tous&lt;/b&gt; !" in refused.text
    assert _editorial(client) == ""

    link = _sign_in_link(refused.text)
    assert unquote(link.split("suite=", 1)[1]) == f"/semaine/{WEEK}?type=actualite"
    login = client.get(link)
    assert login.status_code == 200
    suite = re.search(r'name="suite" value="([^"]*)"', login.text).group(1)
    assert suite.replace("&amp;", "&") == f"/semaine/{WEEK}?type=actualite"
    token = re.search(r'name="csrf" value="([^"]+)"', login.text).group(1)
    signed = client.post(
        "/connexion",
        data={"csrf": token, "username": "marie", "password": "motdepasse-solide", "suite": suite},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == f"/semaine/{WEEK}?type=actualite"


def test_a_referer_from_another_site_is_not_the_return_path(client):
    client.cookies.clear()
    refused = client.post(
        f"/semaine/{WEEK}/mot",
        data={"csrf": client.csrf, "editorial": "x"},
        headers={"Referer": "https://evil.example/semaine/2026-W48"},
    )
    assert refused.status_code == 403
    assert _sign_in_link(refused.text) == "/connexion?suite=/"


@pytest.mark.parametrize(
    "suite",
    [
        "https://evil.example/",
        "//evil.example/",
        "/\\evil.example/",
        "/\t/evil.example/",
        "javascript:alert(1)",
        "http:/evil.example",
    ],
)
def test_the_sign_in_page_refuses_to_return_to_another_site(client, suite):
    client.cookies.clear()
    login = client.get("/connexion", params={"suite": suite})
    assert 'name="suite" value="/"' in login.text
    assert log_in(client).status_code == 303  # signed in, as the fixture did
    token = re.search(r'name="csrf" value="([^"]+)"', client.get("/connexion").text).group(1)
    signed = client.post(
        "/connexion",
        data={"csrf": token, "username": "marie", "password": "motdepasse-solide", "suite": suite},
        follow_redirects=False,
    )
    assert signed.status_code == 303
    assert signed.headers["location"] == "/"


def test_desk_js_gets_json_and_can_fetch_the_new_token_once_signed_in_again(client):
    old = client.csrf
    client.cookies.clear()
    refused = client.post(
        f"/semaine/{WEEK}/mot",
        data={"csrf": old, "editorial": "Mon mot"},
        headers={**FETCH, "Referer": PAGE},
    )
    assert refused.status_code == 403
    answer = refused.json()
    assert answer["reason"] == "session"
    assert unquote(answer["login"]) == f"/connexion?suite=/semaine/{WEEK}?type=actualite"

    # nobody signed in: no token
    assert client.get("/session/jeton", headers=FETCH).status_code == 401
    # signed in again (another tab): the page's old token stays refused…
    assert log_in(client).status_code == 303
    stale = client.post(f"/semaine/{WEEK}/mot", data={"csrf": old, "editorial": "Mon mot"})
    assert stale.status_code == 403
    assert client.post(f"/semaine/{WEEK}/mot", data={"editorial": "Mon mot"}).status_code == 403
    assert _editorial(client) == ""
    # …and the session's current one is given to desk.js only (its header)
    assert client.get("/session/jeton").status_code == 400
    fresh = client.get("/session/jeton", headers=FETCH)
    assert fresh.status_code == 200
    assert fresh.headers["cache-control"] == "no-store"
    assert fresh.json()["csrf"] == client.csrf != old
    saved = client.post(
        f"/semaine/{WEEK}/mot",
        data={"csrf": fresh.json()["csrf"], "editorial": "Mon mot"},
        headers=FETCH,
    )
    assert saved.status_code == 200
    assert _editorial(client) == "Mon mot"


def test_a_signed_in_curator_with_an_old_token_is_sent_back_to_the_page(client):
    refused = client.post(
        f"/semaine/{WEEK}/mot",
        data={"csrf": "ancien-jeton", "editorial": "x"},
        headers={"Referer": PAGE},
    )
    assert refused.status_code == 403
    assert "jeton de sécurité de ce formulaire n’est plus valide" in refused.text
    assert f"href='/semaine/{WEEK}?type=actualite'" in refused.text.replace("&amp;", "&")
    assert client.post(f"/semaine/{WEEK}/mot", data={"csrf": "x"}, headers=FETCH).json()[
        "reason"
    ] == ("jeton")
