"""An animator in Chromium: subscribes with double opt-in (the confirmation comes
through a real local SMTP server), changes themes from the link of a received
bulletin, then a mail client unsubscribes them in one click (RFC 8058 POST).
Screenshots of the e-mail at 390 and 1280 px, and of the pages at 390 px, are
written to ``output/screenshots/`` for review."""

from __future__ import annotations

import re
import time
from email.message import EmailMessage

import pytest

from tests.desk.builder import WEEK
from tests.desk.conftest import run_in_thread
from tests.shared import ROOT, launch_chromium
from watcher.deliver import send_week
from watcher.desk.app import create_app
from watcher.publish.bulletin import publish_bulletin
from watcher.store.bulletins import new_edition
from watcher.store.delivery import get_subscriber

from .conftest import smtp_settings

pytestmark = pytest.mark.browser
SHOTS = ROOT / "output" / "screenshots"
WHO = "Animatrice.Eau@Example.org"


def _last_to(recorder, address: str, count: int = 1) -> EmailMessage:  # noqa: ANN001
    """The latest message to ``address`` once it has ``count`` of them (the
    confirmation goes out just after the page is answered)."""
    deadline = time.monotonic() + 20
    while True:
        found = recorder.by_recipient().get(address, [])
        if len(found) >= count or time.monotonic() > deadline:
            break
        time.sleep(0.05)
    assert len(found) >= count, f"no message {count} to {address}"
    return found[-1]


def _no_sideways_scroll(page) -> bool:  # noqa: ANN001
    return page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


@pytest.fixture
def site(published, smtp, tmp_path):
    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path)
    server, thread, web_port = run_in_thread(create_app(store, settings))
    # the app is its own public address here: links in the mails come back to it
    settings.desk.public_url = f"http://127.0.0.1:{web_port}/"
    try:
        yield store, settings, recorder, f"http://127.0.0.1:{web_port}/abonnement/"
    finally:
        server.should_exit = True
        thread.join(timeout=10)


def test_subscribe_confirm_change_themes_and_unsubscribe_in_one_click(site):
    from playwright.sync_api import sync_playwright

    store, settings, recorder, form_url = site
    SHOTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, locale="fr-FR")
        page = phone.new_page()
        page.set_default_timeout(15_000)

        # 1. the form, on a phone
        page.goto(form_url)
        assert _no_sideways_scroll(page)
        page.fill("input[name=email]", WHO)
        page.check("input[name=themes][value=energie]")
        page.check("input[name=types][value=appel_a_projets]")
        page.screenshot(path=str(SHOTS / "abonnement-formulaire-390.png"), full_page=True)
        page.click("button[type=submit]")
        assert "Vérifiez votre messagerie" in page.locator("h1").inner_text()
        assert get_subscriber(store, email=WHO) is None  # not before confirming

        # 2. the confirmation link of the message the SMTP server received
        confirmation = _last_to(recorder, WHO)
        text = confirmation.get_body(("plain",)).get_content()
        link = re.search(r"(http://127\.0\.0\.1:\d+/abonnement/confirmer/\S+)", text).group(1)
        page.goto(link)
        page.click("button[type=submit]")
        page.wait_for_url("**/abonnement/gerer/**")
        assert "Votre abonnement est confirmé" in page.locator("p.flash").inner_text()
        sub = get_subscriber(store, email=WHO)
        assert sub["status"] == "active" and sub["themes"] == ["energie"]
        assert sub["types"] == ["appel_a_projets"]

        # 3. a bulletin published after they subscribed reaches them, with their links
        new_edition(store, WEEK, "marie")
        publish_bulletin(store, WEEK, "marie", settings)
        report = send_week(store, WEEK, settings)
        assert WHO in report.sent
        bulletin = _last_to(recorder, WHO, count=2)
        assert "chaleur fatale" in bulletin.get_body(("plain",)).get_content()
        html = bulletin.get_body(("html",)).get_content()
        manage = re.search(r'<a href="([^"]+)"[^>]*>Gérer mes thèmes</a>', html).group(1)
        page.goto(manage)
        page.uncheck("input[name=themes][value=energie]")
        page.check("input[name=themes][value=eau]")
        page.uncheck("input[name=types][value=appel_a_projets]")
        page.screenshot(path=str(SHOTS / "abonnement-gerer-390.png"), full_page=True)
        assert _no_sideways_scroll(page)
        page.click("button[value=enregistrer]")
        assert "Vos choix sont enregistrés" in page.locator("p.flash").inner_text()
        sub = get_subscriber(store, email=WHO)
        assert sub["themes"] == ["eau"] and sub["types"] == []

        # 4. the e-mail itself (the whole week's), on a phone and on a desktop
        everything = _last_to(recorder, "tout@example.org")
        for width, height in ((390, 844), (1280, 900), (320, 640)):
            view = browser.new_context(viewport={"width": width, "height": height})
            mail = view.new_page()
            mail.set_content(everything.get_body(("html",)).get_content())
            assert _no_sideways_scroll(mail), width
            if width != 320:
                mail.screenshot(path=str(SHOTS / f"mail-{width}.png"), full_page=True)
            view.close()

        # 5. the mail client's one-click unsubscribe: a bare POST, no cookie, no token
        one_click = re.search(r"<(http://[^>]+)>", str(bulletin["List-Unsubscribe"])).group(1)
        assert bulletin["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
        client = playwright.request.new_context()
        answer = client.post(
            one_click,
            data="List-Unsubscribe=One-Click",
            headers={"Content-Type": "application/x-www-form-urlencoded"},
        )
        assert answer.status == 200
        client.dispose()
        assert get_subscriber(store, email=WHO)["status"] == "unsubscribed"
        page.goto(manage)
        assert "désabonné·e" in page.locator("main").inner_text()
        page.screenshot(path=str(SHOTS / "abonnement-desabonne-390.png"), full_page=True)
        phone.close()
        browser.close()
