"""The desk in headless Chromium: sign in, curate a week, publish, CSRF refusal."""

from __future__ import annotations

import pytest

from tests.desk.builder import WEEK
from watcher.publish.bulletin import build_bulletin
from watcher.store.bulletins import is_published
from watcher.store.desk import list_decisions

from .conftest import sign_in

pytestmark = pytest.mark.browser


def _card(page, item_id: int):  # noqa: ANN001, ANN202
    return page.locator(f"#item-{item_id}")


SETTLED = (
    "() => document.querySelector(\".layout[data-curated='1']\")"
    " && !document.querySelector('.item.saving')"
)


def _submit(page, locator) -> None:  # noqa: ANN001
    """Click; desk.js posts the form and swaps the card for the saved one (or, on the
    week's first change, reloads the page once)."""
    with page.expect_response(lambda r: r.request.method == "POST"):
        locator.click()
    page.wait_for_function(SETTLED)


def _click_and_wait(page, item_id: int, selector: str) -> None:  # noqa: ANN001
    _submit(page, _card(page, item_id).locator(selector))


def test_sign_in_curate_publish_and_check_the_bulletin(page, desk):
    ids = desk.ids
    page.goto(f"{desk.url}/semaine/{WEEK}")
    assert "/connexion" in page.url  # not signed in yet
    sign_in(page, desk)
    page.goto(f"{desk.url}/semaine/{WEEK}")
    assert page.locator("h1").inner_text().startswith("Bulletin semaine 48")
    # why the classifier gave a label is shown next to it
    card = _card(page, ids["chaleur"])
    assert "terme-energie" in card.locator("span.lab.theme").get_attribute("title")
    card.locator("summary", has_text="Pourquoi").click()
    why = card.locator("details.why").inner_text()
    assert "Énergie" in why and "terme-energie (+1.00)" in why and "chaleur fatale" in why

    # drop two items, then keep one of them again
    _click_and_wait(page, ids["guide"], "button.drop")
    _click_and_wait(page, ids["methanisation"], "button.drop")
    assert "Écarté" in _card(page, ids["guide"]).inner_text()
    _click_and_wait(page, ids["methanisation"], "button.keep")
    assert "Retenu" in _card(page, ids["methanisation"]).inner_text()

    # change a theme: add Énergie to the regulation item
    card = _card(page, ids["reut"])
    card.locator("summary", has_text="Modifier les étiquettes").click()
    card.locator("input[name=themes][value=energie]").check()
    _submit(page, card.locator("form.labels-form button"))
    assert "Énergie" in _card(page, ids["reut"]).locator("ul.labels").inner_text()

    # pin one "À la une", and give another a curator's title
    _click_and_wait(page, ids["reemploi"], "button.pin")
    assert "À la une" in _card(page, ids["reemploi"]).locator("header").inner_text()
    card = _card(page, ids["mutualisation"])
    card.locator("summary", has_text="titre").click()
    card.locator("input[name=title]").fill("Douze entreprises partagent un réseau de chaleur")
    _submit(page, card.locator("form.js-async button", has_text="Enregistrer").first)

    # every change is a decision with who, before and after
    fields = [d["field"] for d in list_decisions(desk.store, week=WEEK)]
    assert {"status", "labels.themes", "pinned", "title"} <= set(fields)
    assert all(d["user"] == "marie" for d in list_decisions(desk.store, week=WEEK))

    # publish (the confirmation dialog is accepted)
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{desk.url}/semaine/{WEEK}")
    page.click("form.publish button")
    page.wait_for_selector(".badge.published")
    assert "Bulletin 2026-W48 publié (édition 1)" in page.inner_text("main")
    assert page.locator("button.drop").count() == 0  # frozen: no more actions
    # the archive was rebuilt with the published bulletin
    assert "Archive reconstruite." in page.inner_text("main")
    site = desk.settings.publish.site_dir
    assert (site / "index.html").exists()
    assert any(WEEK in str(p) for p in site.rglob("*.html"))

    bulletin = build_bulletin(desk.store, WEEK, desk.settings)
    assert is_published(desk.store, WEEK) and bulletin.status == "published"
    sections = {s.id: [e.item_id for e in s.entries] for s in bulletin.sections}
    assert sections["une"] == [ids["reemploi"]]
    kept = {e.item_id for e in bulletin.entries}
    assert ids["guide"] not in kept
    assert {ids["methanisation"], ids["chaleur"], ids["reut"], ids["mutualisation"]} <= kept
    reut = next(e for e in bulletin.entries if e.item_id == ids["reut"])
    assert set(reut.themes) == {"eau", "energie"}
    titled = next(e for e in bulletin.entries if e.item_id == ids["mutualisation"])
    assert titled.title == "Douze entreprises partagent un réseau de chaleur"

    # the preview shows the published e-mail
    page.goto(f"{desk.url}/semaine/{WEEK}/apercu")
    frame = page.frame_locator("iframe.big")
    assert "Douze entreprises partagent" in frame.locator("body").inner_text()
    assert "À la une" in frame.locator("body").inner_text()


def test_a_form_without_its_csrf_token_is_refused(page, desk):
    sign_in(page, desk)
    page.goto(f"{desk.url}/semaine/{WEEK}")
    item = desk.ids["reut"]
    # strip the token from the form and submit it as a plain POST (no desk.js)
    page.evaluate(
        """(id) => {
            const form = document.querySelector(`#item-${id} form.js-async`);
            form.querySelector('input[name=csrf]').remove();
            form.classList.remove('js-async');
        }""",
        item,
    )
    with page.expect_response(lambda r: r.request.method == "POST") as info:
        page.locator(f"#item-{item} button.drop").click()
    assert info.value.status == 403
    page.wait_for_load_state()
    assert "Requête refusée" in page.inner_text("body")
    # a forged request with the session cookie but no token is refused too
    response = page.request.post(
        f"{desk.url}/semaine/{WEEK}/element/{item}/statut", form={"status": "dropped"}
    )
    assert response.status == 403
    assert list_decisions(desk.store, week=WEEK) == []
