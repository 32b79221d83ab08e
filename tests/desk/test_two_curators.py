"""Two curators at once, and forms replayed from a stale page (back button,
double click): nobody's work is lost silently, nothing is done twice."""

from __future__ import annotations

import re

import pytest

from tests.desk.builder import WEEK
from watcher.desk.accounts import create_user
from watcher.store.bulletins import current_edition, editorial, entries
from watcher.store.desk import list_decisions
from watcher.store.labels import effective_labels

from .conftest import PASSWORD, USER, desk_client, log_in

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


def _edit_form(client, item: int, action: str) -> dict[str, list[str]]:  # noqa: ANN001
    """The hidden fields of an item's edit form as the curator's page holds them."""
    page = client.get(f"/semaine/{WEEK}/element/{item}/modifier").text
    form = re.search(rf'<form[^>]*action="[^"]*/{action}".*?</form>', page, re.S)
    fields: dict[str, list[str]] = {}
    for name, value in re.findall(r'type="hidden" name="([^"]+)" value="([^"]*)"', form.group(0)):
        fields.setdefault(name, []).append(value)
    return fields


LABELS = {
    "type": "publication",
    "themes": ["economie_circulaire", "territoire"],
    "axes": "veille",
    "scope": "france",
    "deadline": "",
    "event_start_date": "",
}


def test_a_form_opened_before_another_curators_change_does_not_undo_it(client, paul):
    store, item = client.store, client.ids["guide"]
    labels = f"/semaine/{WEEK}/element/{item}/etiquettes"
    mine, his = _edit_form(client, item, "etiquettes"), _edit_form(paul, item, "etiquettes")
    themes = [*LABELS["themes"], "eau"]
    assert client.post(labels, data={**mine, **LABELS, "themes": themes}).status_code == 200
    # Paul's form still shows the themes before Marie's: he changes the scope only.
    assert paul.post(labels, data={**his, **LABELS, "scope": "grand_est"}).status_code == 200
    now = effective_labels(store, [item])[item]
    assert (now.themes, now.scope) == (sorted(themes), "grand_est")
    assert [d["user"] for d in list_decisions(store, week=WEEK)] == [OTHER, USER]


def test_a_field_changed_by_both_is_refused_and_the_typed_text_kept(client, paul):
    store, item = client.store, client.ids["guide"]
    text = f"/semaine/{WEEK}/element/{item}/texte"
    mine, his = _edit_form(client, item, "texte"), _edit_form(paul, item, "texte")
    client.post(text, data={**mine, "title": "Titre de Marie", "summary": ""})
    typed = {"title": "Titre de Paul", "summary": "Résumé de <b>Paul</b>"}
    answer = paul.post(text, data={**his, **typed}, follow_redirects=False)
    assert answer.status_code == 409  # without JavaScript: the form again, as he typed it
    assert "Modifié entre-temps, depuis l’ouverture de ce formulaire : « titre » (par marie)" in (
        answer.text
    )
    assert 'value="Titre de Paul"' in answer.text
    assert "Résumé de &lt;b&gt;Paul&lt;/b&gt;</textarea>" in answer.text
    entry = entries(store, WEEK)[item]
    assert (entry["title"], entry["summary"]) == ("Titre de Marie", None)  # nothing of his
    fetched = paul.post(text, data={**his, **typed}, headers={"X-Requested-With": "fetch"})
    assert fetched.status_code == 409 and "Rien n’a été enregistré" in fetched.text
    # Sent again from the refused form (which now shows Marie's title): his text wins.
    again = re.search(r'name="vu_title" value="([^"]*)"', answer.text).group(1)
    assert again == "Titre de Marie"
    paul.post(text, data={**his, "vu_title": again, **typed})
    assert entries(store, WEEK)[item]["title"] == "Titre de Paul"


def test_the_editorial_saved_meanwhile_is_not_overwritten_unseen(client, paul):
    store = client.store
    mot = f"/semaine/{WEEK}/mot"
    mine = _form_fields(client.get(f"/semaine/{WEEK}").text, mot)
    his = _form_fields(paul.get(f"/semaine/{WEEK}").text, mot)
    assert client.post(mot, data={**mine, "editorial": "Le mot de Marie."}).status_code == 200
    answer = paul.post(mot, data={**his, "editorial": "Le mot de Paul."}, follow_redirects=False)
    assert answer.status_code == 409
    assert "« mot de l’équipe » (par marie)" in answer.text
    assert "Le mot de Paul.</textarea>" in answer.text and "Le mot de Marie." in answer.text
    assert editorial(store, WEEK) == "Le mot de Marie."
    fetched = paul.post(
        mot, data={**his, "editorial": "Le mot de Paul."}, headers={"X-Requested-With": "fetch"}
    )
    assert fetched.status_code == 409 and "Rien n’a été enregistré" in fetched.text
    # From the refused page (which showed Marie's text), his text replaces it knowingly.
    paul.post(mot, data=_form_fields(answer.text, mot) | {"editorial": "Le mot de Paul."})
    assert editorial(store, WEEK) == "Le mot de Paul."
