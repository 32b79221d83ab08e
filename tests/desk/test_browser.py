"""The desk in headless Chromium: a week prepared end to end with the keyboard,
accessibility (axe-core) of the week page at 1280 and 390 px, the same work
without JavaScript, CSRF refusal, and a session that expires while a curator
types (the text stays, the save works once signed in again)."""

from __future__ import annotations

import pytest

from tests.desk.builder import WEEK
from watcher.desk.views_week import edition_state
from watcher.publish.bulletin import build_bulletin, render_email
from watcher.store.bulletins import is_published
from watcher.store.desk import end_sessions, list_decisions
from watcher.store.labels import effective_labels

from .conftest import PASSWORD, USER, sign_in

pytestmark = pytest.mark.browser

# No card being saved and no action of desk.js waiting for its answer to be on the page.
SETTLED = (
    "() => !document.querySelector('.item.saving') && !('busy' in document.documentElement.dataset)"
)


def _settle(page) -> None:  # noqa: ANN001
    page.wait_for_function(SETTLED)


def _key(page, key: str) -> None:  # noqa: ANN001
    page.keyboard.press(key)
    page.wait_for_timeout(50)
    _settle(page)


def _current(page) -> str:  # noqa: ANN001
    return page.eval_on_selector("article.item.current", "card => card.id")


def _go_to(page, item_id: int) -> None:  # noqa: ANN001
    """j or k until the item is the current card (keyboard only)."""
    for _ in range(40):
        order = page.eval_on_selector_all("article.item", "cards => cards.map(c => c.id)")
        here = page.locator("article.item.current")
        if here.count() and _current(page) == f"item-{item_id}":
            return
        ahead = not here.count() or order.index(_current(page)) < order.index(f"item-{item_id}")
        _key(page, "j" if ahead else "k")
    raise AssertionError(f"item {item_id} never became the current card")


def test_a_week_prepared_with_the_keyboard(page, desk):
    ids, store = desk.ids, desk.store
    sign_in(page, desk)
    page.goto(f"{desk.url}/semaine/{WEEK}")
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    # ? shows the shortcuts; Escape closes them
    _key(page, "?")
    assert page.locator("#help").is_visible()
    assert "Raccourcis clavier" in page.inner_text("#help")
    page.keyboard.press("Escape")
    page.wait_for_function("!document.querySelector('#help').open")

    # filter: "/" jumps to the filters; the arrow keys choose a section
    _key(page, "/")
    assert page.evaluate("document.activeElement.id") == "f-type"
    page.keyboard.press("ArrowDown")  # the first section: calls for projects
    page.wait_for_function("document.querySelector('#shown').textContent.startsWith('2 ')")
    assert page.locator("article.item:visible").count() == 2
    page.keyboard.press("Home")  # back to every section
    page.wait_for_function("document.querySelector('#shown').textContent.startsWith('8 ')")
    page.keyboard.press("Escape")
    page.locator("h1").click()  # leave the select (as a click outside would)

    # keep / drop with g and x, moving with j and k
    _go_to(page, ids["guide"])
    _key(page, "x")
    assert page.locator(f"#item-{ids['guide']}").get_attribute("data-state") == "dropped"
    _go_to(page, ids["football"])
    _key(page, "g")
    assert page.locator(f"#item-{ids['football']}").get_attribute("data-state") == "kept"
    _key(page, "k")
    assert _current(page) != f"item-{ids['football']}"

    # reorder: Shift+K moves the current kept item up in its section
    _go_to(page, ids["piege"])
    _key(page, "K")
    order = page.eval_on_selector_all(
        ".cards[data-section=actualite] article.item", "cards => cards.map(c => c.id)"
    )
    assert order.index(f"item-{ids['piege']}") < order.index(f"item-{ids['mutualisation']}")
    assert "ordre : 2 → 1" in " ".join(page.inner_text("#journal").split())

    # edit labels: e opens the editor; Tab to the fields; Ctrl+Enter saves
    _go_to(page, ids["reut"])
    _key(page, "e")
    page.wait_for_selector(f"#edit-{ids['reut']}")
    page.focus(f"#type-{ids['reut']}")  # the type: Actualités (keyboard: type its name)
    page.keyboard.type("Actu")
    page.keyboard.press("Tab")  # to the first theme checkbox…
    for _ in range(12):
        if page.evaluate("document.activeElement.value") == "energie":
            break
        page.keyboard.press("Tab")
    page.keyboard.press("Space")  # …tick Énergie
    page.keyboard.press("Control+Enter")
    _settle(page)
    card = page.locator(f"#item-{ids['reut']}")
    assert card.get_attribute("data-section") == "actualite"  # moved to its new section
    assert card.locator("xpath=..").get_attribute("data-section") == "actualite"
    assert "Énergie" in card.locator("ul.labels").inner_text()
    labels = effective_labels(store, [ids["reut"]])[ids["reut"]]
    assert labels.type == "actualite" and set(labels.themes) == {"eau", "energie"}

    # bulk: s ticks cards, then the bulk bar's button
    _go_to(page, ids["reemploi"])
    _key(page, "s")
    _go_to(page, ids["methanisation"])
    _key(page, "s")
    assert "2 élément(s) sélectionné(s)" in page.inner_text("#picked")
    page.focus("#bulk button.drop")
    _key(page, "Enter")
    for key in ("reemploi", "methanisation"):
        assert page.locator(f"#item-{ids[key]}").get_attribute("data-state") == "dropped"

    # the editorial: open its panel and write it, Ctrl+Enter saves
    page.focus("#mot summary")
    page.keyboard.press("Enter")
    page.focus("#editorial")
    page.keyboard.type("Bonne lecture ! Cette semaine, **la chaleur fatale** à l'honneur.")
    page.keyboard.press("Control+Enter")
    _settle(page)
    assert "la chaleur fatale" in page.inner_text("#editorial-preview")
    assert page.locator("#editorial-preview strong").count() == 1
    # saved again from the same page: it starts from the text just saved (no conflict)
    page.focus("#editorial")
    page.keyboard.press("End")
    page.keyboard.type(" Bonne semaine.")
    page.keyboard.press("Control+Enter")
    _settle(page)
    assert "Bonne semaine." in page.inner_text("#editorial-preview")

    assert page.evaluate("window.__sameDocument") is True  # no action reloaded the page
    fields = [d["field"] for d in list_decisions(store, week=WEEK, limit=50)]
    assert {"status", "order", "labels.type", "labels.themes", "editorial"} <= set(fields)

    # preview one theme: the arrow keys choose it, the page follows
    page.goto(f"{desk.url}/semaine/{WEEK}/apercu")
    page.focus("#theme")
    with page.expect_navigation():
        page.keyboard.press("ArrowDown")
    theme = page.eval_on_selector("#theme", "s => s.value")
    assert theme and f"theme={theme}" in page.url
    mail = page.frame_locator("iframe.big").locator("body").inner_text()
    assert "Le mot de l’équipe" in mail and "la chaleur fatale" in mail

    # publish: back to the week, the Publier button, Enter, confirm
    page.on("dialog", lambda dialog: dialog.accept())
    page.goto(f"{desk.url}/semaine/{WEEK}")
    page.focus("form.publish button")
    with page.expect_navigation():
        page.keyboard.press("Enter")
    page.wait_for_selector(".badge.published")
    assert "Bulletin 2026-W48 publié (édition 1)" in page.inner_text("main")
    assert f"Archive reconstruite dans {desk.settings.publish.site_dir}" in page.inner_text("main")

    bulletin = build_bulletin(store, WEEK, desk.settings)
    assert is_published(store, WEEK) and bulletin.status == "published"
    assert "la chaleur fatale" in bulletin.editorial
    sections = {s.id: [e.item_id for e in s.entries] for s in bulletin.sections}
    assert sections["actualite"][:2] == [ids["piege"], ids["mutualisation"]]
    assert ids["reut"] in sections["actualite"]
    kept = {e.item_id for e in bulletin.entries}
    assert not kept & {ids["guide"], ids["reemploi"], ids["methanisation"]}
    html, text = render_email(bulletin, desk.settings)
    assert "<strong>la chaleur fatale</strong>" in html and "LE MOT DE L’ÉQUIPE" in text
    page_html = (desk.settings.publish.site_dir / "bulletins" / WEEK / "index.html").read_text()
    assert "Le mot de l’équipe" in page_html and "<strong>la chaleur fatale</strong>" in page_html


def _axe(page) -> list[dict]:  # noqa: ANN001
    from axe_playwright_python.sync_playwright import Axe

    results = Axe().run(page)
    return [v for v in results.response["violations"] if v["impact"] in ("serious", "critical")]


@pytest.mark.parametrize("width", [1280, 390])
def test_the_week_page_is_accessible_and_fits(browser, desk, width, tmp_path):
    context = browser.new_context(viewport={"width": width, "height": 900}, locale="fr-FR")
    page = context.new_page()
    sign_in(page, desk)
    page.goto(f"{desk.url}/semaine/{WEEK}")
    page.click(f"#item-{desk.ids['guide']} button.drop")  # a dropped card among the others
    page.wait_for_selector(f"#item-{desk.ids['guide']}[data-state=dropped]")
    page.click(f"#item-{desk.ids['reemploi']} button.pin")
    page.wait_for_selector(f"#item-{desk.ids['reemploi']}.pinned")
    page.click(f"#item-{desk.ids['reut']} a.edit-link")
    page.wait_for_selector(f"#edit-{desk.ids['reut']}")
    page.click("#mot summary")
    serious = _axe(page)
    assert serious == [], [(v["id"], len(v["nodes"]), v["nodes"][0]["target"]) for v in serious]
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px wider than the {width}px screen"
    nav = page.locator("header.top nav")
    for name in ("Modèle", "Sources"):
        box = nav.get_by_role("link", name=name).bounding_box()
        assert box and box["x"] + box["width"] <= width
    # the sign-out button stays inside the dark header (it was white on white below it)
    header = page.locator("header.top").bounding_box()
    out = page.get_by_role("button", name="Se déconnecter").bounding_box()
    assert out and out["x"] + out["width"] <= width
    assert header["y"] <= out["y"] and out["y"] + out["height"] <= header["y"] + header["height"]
    page.screenshot(path=str(tmp_path / f"semaine-{width}.png"), full_page=True)
    for path in ("/sources", "/abonnes", f"/semaine/{WEEK}/apercu", "/compte"):
        page.goto(desk.url + path)
        serious = _axe(page)
        assert serious == [], (path, [(v["id"], v["nodes"][0]["target"]) for v in serious])
        # a wide table scrolls in its own region, not the whole page (an .sr-only
        # header cell made /abonnes 1012 px wide on a 390 px phone)
        overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
        assert overflow <= 0, f"{path}: {overflow}px wider than the {width}px screen"
    context.close()


def test_everything_works_without_javascript(browser, desk):
    ids = desk.ids
    context = browser.new_context(
        java_script_enabled=False, viewport={"width": 1280, "height": 900}
    )
    page = context.new_page()
    sign_in(page, desk)
    page.goto(f"{desk.url}/semaine/{WEEK}?type=actualite")
    assert page.locator("article.item:visible").count() == 2  # the filter, server side
    with page.expect_navigation():
        page.click(f"#item-{ids['piege']} button[name=direction][value=up]")
    assert "type=actualite" in page.url  # back to the same filtered view
    with page.expect_navigation():
        page.click(f"#item-{ids['mutualisation']} button.drop")
    assert page.locator(f"#item-{ids['mutualisation']}").get_attribute("data-state") == "dropped"
    assert "ordre : 2 → 1" in " ".join(page.inner_text("#journal").split())
    page.goto(f"{desk.url}/semaine/{WEEK}")
    with page.expect_navigation():
        page.click(f"#item-{ids['methanisation']} a.edit-link")
    page.fill("input[name=event_start_date]", "2027-03-12")
    page.fill("input[name=event_start_time]", "09:30")
    page.fill("input[name=event_place]", "Metz")
    with page.expect_navigation():
        page.click("form.labels-form button")
    assert "12 mars 2027 à 09 h 30, Metz" in page.inner_text(f"#item-{ids['methanisation']}")
    page.check(f"#sel-{ids['guide']}")
    page.check(f"#sel-{ids['reemploi']}")
    with page.expect_navigation():
        page.click("#bulk button.drop")
    assert "2 élément(s) : écartés." in page.inner_text("main")
    with page.expect_navigation():
        page.click(f"#item-{ids['reut']} button.pin")
    assert page.locator(f"#item-{ids['reut']} .badge.une").count() == 1
    page.click("#mot summary")
    page.fill("#editorial", "Sans script, **le mot** part aussi.")
    with page.expect_navigation():
        page.click("#mot form button")
    assert page.locator("#editorial-preview strong").text_content() == "le mot"
    # the preview per theme: the select and its "Voir" button
    page.goto(f"{desk.url}/semaine/{WEEK}/apercu")
    page.select_option("#theme", "eau")
    with page.expect_navigation():
        page.click("form.theme-pick button")
    assert "theme=eau" in page.url
    assert "theme=eau" in page.get_attribute("iframe.big", "src")
    context.close()


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


def test_a_refusal_without_javascript_fits_a_phone_and_keeps_the_text(browser, desk):
    context = browser.new_context(java_script_enabled=False, viewport={"width": 390, "height": 900})
    page = context.new_page()
    sign_in(page, desk)
    page.goto(f"{desk.url}/semaine/{WEEK}")
    page.click("#mot summary")
    page.fill("#editorial", "Un mot tapé avant que la session ne se termine.")
    context.clear_cookies()  # the session ends while the curator types
    with page.expect_navigation():
        page.click("#mot form button")
    assert "Requête refusée" in page.inner_text("h1")
    assert (
        page.input_value("textarea[readonly]") == "Un mot tapé avant que la session ne se termine."
    )
    overflow = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
    assert overflow <= 0, f"{overflow}px wider than the 390px screen"  # the box was 591px
    context.close()


def _sign_in_elsewhere(page, href: str) -> None:  # noqa: ANN001
    """Follow the message's link in another tab of the same browser and sign in."""
    other = page.context.new_page()
    other.goto(href)
    other.fill("input[name=username]", USER)
    other.fill("input[name=password]", PASSWORD)
    other.click("button[type=submit]")
    other.wait_for_url("**/semaine/**")
    other.close()


def test_an_expired_session_keeps_what_the_curator_typed(page, desk):
    item, store = desk.ids["reut"], desk.store
    sign_in(page, desk)
    page.goto(f"{desk.url}/semaine/{WEEK}")
    page.evaluate("window.__sameDocument = true")  # gone if anything reloads the page

    # an item's editor: typed, then the session cookie expires, then "Enregistrer"
    page.click(f"#item-{item} a.edit-link")
    page.wait_for_selector(f"#edit-{item}")
    page.fill(f"#title-{item}", "Titre retravaillé à la main")
    page.fill(f"#summary-{item}", "Un résumé écrit avec soin, long à retaper.")
    page.context.clear_cookies(name="veille_session")
    with page.expect_response(lambda r: r.request.method == "POST") as answer:
        page.click(f"#edit-{item} form.edit-text button")
    assert answer.value.status == 403
    _settle(page)
    note = page.locator(f"#edit-{item} form.edit-text .expired")
    text = " ".join(note.inner_text().split())
    assert text == (
        "Votre session a expiré : reconnectez-vous dans un autre onglet, puis cliquez à "
        "nouveau sur « Enregistrer le texte » ; votre saisie est conservée."
    )
    assert page.input_value(f"#title-{item}") == "Titre retravaillé à la main"
    assert page.input_value(f"#summary-{item}") == "Un résumé écrit avec soin, long à retaper."
    assert list_decisions(store, week=WEEK) == []  # nothing saved
    href = note.locator("a").get_attribute("href")
    assert href == f"/connexion?suite=%2Fsemaine%2F{WEEK}"
    assert note.locator("a").get_attribute("target") == "_blank"

    # signed in again in another tab: the same click saves, with the new token
    _sign_in_elsewhere(page, desk.url + href)
    page.click(f"#edit-{item} form.edit-text button")
    _settle(page)
    assert "Titre retravaillé à la main" in page.inner_text(f"#item-{item}")
    saved = {d["field"]: d["after"] for d in list_decisions(store, week=WEEK)}
    assert saved["title"] == "Titre retravaillé à la main"
    assert page.locator(".expired").count() == 0

    # the editorial: the session is closed on the server this time (signed out
    # elsewhere); a reload after the refusal gives the typed text back
    page.click("#mot summary")
    page.fill("#editorial", "Bonne lecture : **la chaleur fatale** à l’honneur.")
    end_sessions(store, USER)
    page.click("#mot form button")
    _settle(page)
    assert "Votre session a expiré" in page.inner_text("#mot form .expired")
    assert page.input_value("#editorial") == "Bonne lecture : **la chaleur fatale** à l’honneur."
    assert page.evaluate("window.__sameDocument") is True  # no 403 reloaded the page
    assert not edition_state(store, WEEK)["editorial"]
    # signed in again, then the page reloaded: the typed text comes back from the tab
    _sign_in_elsewhere(page, desk.url + page.get_attribute("#mot .expired a", "href"))
    page.reload()
    page.click("#mot summary")
    assert page.input_value("#editorial") == "Bonne lecture : **la chaleur fatale** à l’honneur."
    assert "Saisie non enregistrée reprise" in page.inner_text("#mot")
    page.click("#mot form button")
    _settle(page)
    assert "la chaleur fatale" in page.inner_text("#editorial-preview")
    assert "la chaleur fatale" in edition_state(store, WEEK)["editorial"]
    page.reload()  # saved: nothing is restored any more
    assert page.locator(".restored").count() == 0


def test_labels_chosen_before_a_session_ended_come_back_after_a_reload(page, desk):
    item, store = desk.ids["reut"], desk.store
    sign_in(page, desk)
    page.goto(f"{desk.url}/semaine/{WEEK}")
    page.click(f"#item-{item} a.edit-link")
    page.wait_for_selector(f"#edit-{item}")
    form = f"#edit-{item} form.labels-form"
    page.select_option(f"#type-{item}", "publication")
    added = page.get_attribute(f"{form} input[name=themes]:not(:checked)", "value")
    page.check(f"{form} input[name=themes][value={added}]")
    page.fill(f"#deadline-{item}", "2027-03-12")
    chosen = page.eval_on_selector_all(
        f"{form} input[name=themes]:checked", "els => els.map(e => e.value)"
    )
    end_sessions(store, USER)
    page.click(f"{form} button")
    _settle(page)
    assert "votre saisie est conservée" in page.inner_text(f"{form} .expired")
    assert list_decisions(store, week=WEEK) == []

    # signed in again, the page reloaded: the choices come back, untouched ones too
    _sign_in_elsewhere(page, desk.url + page.get_attribute(f"{form} .expired a", "href"))
    page.reload()
    page.click(f"#item-{item} a.edit-link")
    page.wait_for_selector(f"#edit-{item}")
    assert "Saisie non enregistrée reprise" in page.inner_text(form)
    assert page.input_value(f"#type-{item}") == "publication"
    assert page.input_value(f"#deadline-{item}") == "2027-03-12"
    again = page.eval_on_selector_all(
        f"{form} input[name=themes]:checked", "els => els.map(e => e.value)"
    )
    assert again == chosen and added in again
    page.click(f"{form} button")
    _settle(page)
    saved = {d["field"]: d["after"] for d in list_decisions(store, week=WEEK)}
    assert saved["labels.type"] == "publication" and added in saved["labels.themes"]
    assert saved["labels.deadline"] == "2027-03-12"
    page.reload()
    page.click(f"#item-{item} a.edit-link")
    page.wait_for_selector(f"#edit-{item}")
    assert page.locator(".restored").count() == 0  # saved: nothing is restored any more


def test_an_item_edited_twice_on_its_own_page_is_saved_twice(page, desk):
    # The page's forms kept what they first showed: the second save read the
    # curator's own first one as someone else's change, and was refused (409).
    item, store = desk.ids["reut"], desk.store
    sign_in(page, desk)
    page.goto(f"{desk.url}/semaine/{WEEK}/element/{item}/modifier")
    for title in ("Un premier titre", "Le titre définitif"):
        page.fill(f"#title-{item}", title)
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click("form.edit-text button")
        assert answer.value.status == 200
        _settle(page)
    form = "form.labels-form"
    for theme in ("energie", "mutualisation"):
        page.check(f"{form} input[name=themes][value={theme}]")
        with page.expect_response(lambda r: r.request.method == "POST") as answer:
            page.click(f"{form} button")
        assert answer.value.status == 200
        _settle(page)
    assert page.locator(".error").count() == 0
    saved = [(d["field"], d["after"]) for d in reversed(list_decisions(store, week=WEEK))]
    assert [after for field, after in saved if field == "title"] == [
        "Un premier titre",
        "Le titre définitif",
    ]
    themes = [set(after) for field, after in saved if field == "labels.themes"]
    assert len(themes) == 2 and {"energie", "mutualisation"} <= themes[1]
    assert "mutualisation" not in themes[0]


def test_saving_the_labels_keeps_the_title_typed_in_the_same_editor(page, desk):
    # The card came back without its editor: the title typed but not saved yet
    # was gone, with no word, when the curator saved the labels first.
    item, store = desk.ids["reut"], desk.store
    sign_in(page, desk)
    page.goto(f"{desk.url}/semaine/{WEEK}")
    page.click(f"#item-{item} a.edit-link")
    page.wait_for_selector(f"#edit-{item}")
    page.fill(f"#title-{item}", "Un titre tapé, pas encore enregistré")
    page.check(f"#edit-{item} form.labels-form input[name=themes][value=energie]")
    page.click(f"#edit-{item} form.labels-form button")
    _settle(page)
    assert "energie" in effective_labels(store, [item])[item].themes
    assert page.input_value(f"#title-{item}") == "Un titre tapé, pas encore enregistré"
    assert page.evaluate("document.activeElement.id") == f"title-{item}"
    page.click(f"#edit-{item} form.edit-text button")
    _settle(page)
    assert page.locator(f"#edit-{item}").count() == 0  # all saved: the editor closes
    assert "Un titre tapé, pas encore enregistré" in page.inner_text(f"#item-{item} h3")
    assert [d["field"] for d in list_decisions(store, week=WEEK)].count("labels.themes") == 1
