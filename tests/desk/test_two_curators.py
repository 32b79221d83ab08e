"""Two curators at once, and forms replayed from a stale page (back button,
double click): nobody's work is lost silently, nothing is done twice."""

from __future__ import annotations

import re

import pytest

from tests.desk.builder import WEEK
from watcher.desk.accounts import create_user
from watcher.store.bulletins import current_edition, entries
from watcher.store.desk import list_decisions

from .conftest import PASSWORD, desk_client, log_in

OTHER = "paul"


@pytest.fixture
def paul(client):  # noqa: ANN001, ANN201
    """A second curator signed in to the same desk as ``client``."""
    create_user(client.store, OTHER, PASSWORD)
    other = desk_client(client.app)
    assert log_in(other, user=OTHER).status_code == 303
    return other


def _post(client, path, **data):  # noqa: ANN001, ANN202
    return client.post(path, data={"csrf": client.csrf, **data}, follow_redirects=False)


def _form_fields(page: str, action: str) -> dict[str, str]:
    """The hidden fields of the form posting to ``action`` in ``page``, as a browser sends them."""
    form = re.search(rf'<form[^>]*action="{re.escape(action)}".*?</form>', page, re.S)
    assert form, action
    return dict(re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)))


def _messages(client) -> str:  # noqa: ANN001
    return client.get(f"/semaine/{WEEK}").text


def test_a_replayed_publish_form_does_not_publish_the_next_edition(client, paul):
    store, item = client.store, client.ids["reut"]
    publish = f"/semaine/{WEEK}/publier"
    renew = f"/semaine/{WEEK}/nouvelle-edition"
    draft_page = client.get(f"/semaine/{WEEK}").text
    publish_form = _form_fields(draft_page, publish)
    assert client.post(publish, data=publish_form, follow_redirects=False).status_code == 303
    # The double click: the same form again.
    client.post(publish, data=publish_form, follow_redirects=False)
    assert "Le bulletin 2026-W48 (édition 1) est déjà publié." in _messages(client)
    # Paul opens edition 2 and starts a correction.
    new_form = _form_fields(paul.get(f"/semaine/{WEEK}").text, renew)
    assert paul.post(renew, data=new_form, follow_redirects=False).status_code == 303
    paul.post(renew, data=new_form, follow_redirects=False)  # his double click
    assert "L’édition 2 du bulletin 2026-W48 est déjà ouverte" in _messages(paul)
    _post(paul, f"/semaine/{WEEK}/element/{item}/statut", status="dropped")
    # Marie goes back to the page of edition 1 and sends its "Publier" again.
    client.post(publish, data=publish_form, follow_redirects=False)
    latest = current_edition(store, WEEK)
    assert (latest["edition"], latest["status"]) == (2, "draft")  # Paul's draft not published
    assert "a changé depuis l’affichage de cette page" in _messages(client)
    # Edition 2 is published; the old "new edition" form does not open a third.
    _post(paul, publish, edition="2")
    paul.post(renew, data=new_form, follow_redirects=False)
    latest = current_edition(store, WEEK)
    assert (latest["edition"], latest["status"]) == (2, "published")
    assert entries(store, WEEK)[item]["status"] == "dropped"


def test_a_mangled_edition_field_is_a_french_bad_request(client):
    answer = _post(client, f"/semaine/{WEEK}/publier", edition="deux")
    assert answer.status_code == 400 and "Identifiant « deux » invalide." in answer.text


def test_an_undo_never_discards_a_later_change(client, paul):
    store, item = client.store, client.ids["reut"]
    text = f"/semaine/{WEEK}/element/{item}/texte"
    _post(client, text, title="Titre de Marie", summary="")
    mine = list_decisions(store, week=WEEK)[0]
    _post(paul, text, title="Titre de Paul", summary="")
    _post(client, f"/decisions/{mine['id']}/annuler")
    assert entries(store, WEEK)[item]["title"] == "Titre de Paul"
    page = _messages(client)
    assert "Annulation refusée : « titre » a été modifié depuis par paul" in page
    assert not list_decisions(store, week=WEEK)[0]["undo_of"]  # nothing recorded
    # Once Paul's change is undone, Marie's undo goes through, and only once.
    _post(paul, f"/decisions/{list_decisions(store, week=WEEK)[0]['id']}/annuler")
    _post(client, f"/decisions/{mine['id']}/annuler")
    assert entries(store, WEEK)[item]["title"] is None
    _post(client, f"/decisions/{mine['id']}/annuler")
    assert "Cette modification a déjà été annulée." in _messages(client)
    _post(client, "/decisions/999999/annuler")
    assert "Modification 999999 introuvable." in _messages(client)


def test_an_undo_of_a_reorder_followed_by_another_is_refused(client):
    store, ids = client.store, client.ids
    move = f"/semaine/{WEEK}/element/{{}}/deplacer"
    _post(client, move.format(ids["piege"]), direction="up")
    first = list_decisions(store, week=WEEK)[0]
    _post(client, move.format(ids["piege"]), direction="down")
    _post(client, f"/decisions/{first['id']}/annuler")
    assert "Annulation refusée : « ordre » a été modifié depuis par marie" in _messages(client)
