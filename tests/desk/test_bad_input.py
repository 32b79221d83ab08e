"""Bad values in the desk's URLs and forms end as a French 400 or 404, never a 500:
weeks outside the years the desk knows, ids that are not small ASCII numbers."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from tests.desk.builder import WEEK
from watcher.desk.guard import BodyLimit
from watcher.store.bulletins import entries

FAR_WEEKS = ["9999-W52", "0001-W01"]


@pytest.mark.parametrize("far", FAR_WEEKS)
@pytest.mark.parametrize("page", ["/semaine/{}", "/semaine/{}/apercu"])
def test_a_far_week_in_the_url_is_not_found(client, page, far):
    response = client.get(page.format(far))
    assert response.status_code == 404, response.text
    assert f"Semaine « {far} » invalide" in response.text
    assert "comprise entre 2000 et 2100" in response.text


@pytest.mark.parametrize("far", FAR_WEEKS)
def test_a_far_week_asked_on_the_home_page_is_flashed(client, far):
    response = client.get("/", params={"semaine": far}, follow_redirects=False)
    assert response.status_code == 303
    assert far not in response.headers["location"]
    page = client.get(response.headers["location"])
    assert page.status_code == 200 and f"Semaine « {far} » invalide" in page.text


# str.isdigit() is true for '²' and '٣' and int() refuses the first; int()
# refuses 5000 digits; 30 digits overflow the databases' 64-bit integers.
BAD_IDS = ["²", "٣", "1" * 5000, "9" * 30, "-1", "1.0", " 1", ""]


def _post(client, path, fetch=False, **data):  # noqa: ANN001, ANN202
    return client.post(
        path,
        data={"csrf": client.csrf, **data},
        headers={"X-Requested-With": "fetch"} if fetch else {},
        follow_redirects=False,
    )


@pytest.mark.parametrize("fetch", [False, True])
@pytest.mark.parametrize("bad", BAD_IDS)
def test_a_bad_id_in_the_bulk_form_is_a_bad_request(client, bad, fetch):
    good = client.ids["football"]
    answer = _post(client, f"/semaine/{WEEK}/lot", fetch, status="kept", ids=[good, bad])
    assert answer.status_code == 400, answer.text
    assert "Identifiant « " in answer.text and "invalide" in answer.text
    assert len(answer.text) < 2000  # the 5000 digits are not sent back
    # Nothing was kept: the form is refused as a whole.
    assert (entries(client.store, WEEK).get(good) or {}).get("status") != "kept"


@pytest.mark.parametrize("bad", ["999999999999999999999999999999", "1" * 5000, "²", "abc"])
def test_a_bad_decision_id_is_not_found(client, bad):
    answer = _post(client, f"/decisions/{bad}/annuler")
    assert answer.status_code == 404, answer.text
    assert "Identifiant « " in answer.text and "invalide" in answer.text


@pytest.mark.parametrize("bad", ["999999999999999999999999999999", "²", "abc"])
@pytest.mark.parametrize(
    ("method", "action"),
    [("get", "modifier"), ("post", "statut"), ("post", "deplacer"), ("post", "ajouter")],
)
def test_a_bad_item_id_in_the_url_is_not_found(client, bad, method, action):
    path = f"/semaine/{WEEK}/element/{bad}/{action}"
    if method == "get":
        answer = client.get(path)
    else:
        answer = _post(client, path, status="kept", direction="up")
    assert answer.status_code == 404, answer.text
    assert "Identifiant « " in answer.text and "invalide" in answer.text


def test_a_large_but_valid_looking_id_is_just_unknown(client):
    answer = client.get(f"/semaine/{WEEK}/element/999999999999999999/modifier")
    assert answer.status_code == 404 and "Élément 999999999999999999 introuvable" in answer.text


@pytest.mark.parametrize("declared", ["²", "1" * 5000])
def test_a_garbled_content_length_is_refused_not_a_crash(declared):
    async def inner(scope, receive, send):  # noqa: ANN001, ANN202
        raise AssertionError("the body limit let the request through")

    sent: list[dict[str, Any]] = []

    async def send(message):  # noqa: ANN001, ANN202
        sent.append(message)

    async def receive():  # noqa: ANN202
        return {"type": "http.request", "body": b"", "more_body": False}

    scope = {
        "type": "http",
        "method": "POST",
        "headers": [(b"content-length", declared.encode("latin-1"))],
    }
    asyncio.run(BodyLimit(inner, 1024, 1024)(scope, receive, send))
    assert sent[0]["status"] == 413


def test_a_body_over_the_cap_gets_the_desks_own_french_page(client):
    """The desk's 413 is its error page (like its 400 and 404), naming the cap; it
    was one line of plain text. The connection closes: the rest is never read."""
    cap = client.settings.desk.max_form_kib
    big = b"editorial=" + b"x" * (cap * 1024 + 1)

    def chunks():  # noqa: ANN202 - no Content-Length: cut as the body passes the cap
        yield big

    form = {"content-type": "application/x-www-form-urlencoded"}
    for body in (big, chunks()):
        page = client.post(f"/semaine/{WEEK}/mot", content=body, headers=form)
        assert page.status_code == 413
        assert page.headers["content-type"].startswith("text/html")
        assert page.headers["connection"] == "close"
        assert page.headers["x-content-type-options"] == "nosniff"
        assert "<h1>Envoi trop volumineux</h1>" in page.text
        assert f"au plus {cap} Kio" in page.text and "href='/'" in page.text


@pytest.mark.parametrize("referer", ["http://[::1/semaine/x?theme=eau", "http://127.0.0.1:99999/"])
def test_a_referer_that_cannot_be_parsed_still_leads_back_to_the_week(client, referer):
    # urlsplit raised ValueError on the first: a 500 after the change was saved.
    item = client.ids["guide"]
    response = client.post(
        f"/semaine/{WEEK}/element/{item}/statut",
        data={"csrf": client.csrf, "status": "dropped"},
        headers={"Referer": referer},
        follow_redirects=False,
    )
    assert response.status_code == 303, response.text
    assert response.headers["location"].endswith(f"/semaine/{WEEK}#item-{item}")
