"""The readers' pages without a browser: double opt-in, no way to learn whether an
address is subscribed, rate limits, manage and one-click unsubscribe by signed link."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from urllib.parse import urljoin

import pytest
from itsdangerous import TimestampSigner
from sqlalchemy import event
from starlette.testclient import TestClient

from tests.desk.builder import WEEK
from watcher.deliver import send_week
from watcher.deliver.subscribers import save_subscriber
from watcher.deliver.tokens import subscriber_token
from watcher.desk.app import create_app
from watcher.store.delivery import (
    get_subscriber,
    insert_request,
    list_subscribers,
    set_subscriber_status,
)

from .conftest import APP_URL, smtp_settings

FORM = "/abonnement/"


@pytest.fixture
def public(store, smtp, tmp_path):
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path)
    app = create_app(store, settings)
    client = TestClient(app, base_url="http://127.0.0.1")
    client.store, client.recorder, client.settings = store, recorder, settings
    return client


def _path(url: str) -> str:
    """A link of a mail (APP_URL + abonnement/…) as a path of the test client."""
    assert url.startswith(APP_URL), url
    return "/" + url.removeprefix(APP_URL)


def _confirm_link(message) -> str:  # noqa: ANN001
    text = message.get_body(("plain",)).get_content()
    return _path(re.search(r"(https://\S+/abonnement/confirmer/\S+)", text).group(1))


def _subscribe(client, email: str, **choices):  # noqa: ANN001, ANN202
    return client.post(FORM, data={"email": email, **choices})


def test_double_opt_in_sends_only_the_confirmation_then_subscribes(public):
    page = public.get(FORM)
    assert page.status_code == 200 and 'name="themes" value="eau"' in page.text
    answer = _subscribe(public, "Anim@Example.org", themes=["eau", "energie"], scopes="grand_est")
    assert answer.status_code == 200 and "Vérifiez votre messagerie" in answer.text
    assert "set-cookie" not in answer.headers  # the public pages use no session
    assert list_subscribers(public.store) == []  # nothing until confirmed
    (message,) = public.recorder.messages
    assert message["To"] == "Anim@Example.org"
    assert message["Subject"] == "Confirmez votre abonnement à la veille EIT Grand Est"
    assert message["List-Unsubscribe"] is None  # not a list message
    link = _confirm_link(message)
    assert "Anim" not in link and "example" not in link.lower()

    shown = public.get(link)  # what a link scanner does: it must not subscribe anyone
    assert shown.status_code == 200 and "Confirmer mon abonnement" in shown.text
    assert shown.headers["cache-control"] == "no-store"
    assert shown.headers["referrer-policy"] == "no-referrer"
    assert list_subscribers(public.store) == []

    done = public.post(link, follow_redirects=False)
    assert done.status_code == 303
    assert done.headers["location"].startswith("../gerer/")  # relative: any proxy prefix
    sub = get_subscriber(public.store, email="anim@example.org")
    assert sub["status"] == "active" and sub["themes"] == ["eau", "energie"]
    assert sub["scopes"] == ["grand_est"] and sub["types"] == []
    manage = public.post(link)  # followed: the manage page says it is confirmed
    assert "Votre abonnement est confirmé" in manage.text
    assert public.post(link).status_code == 200  # a second click changes nothing
    assert len(list_subscribers(public.store)) == 1


def test_the_answer_is_the_same_whether_the_address_is_subscribed_or_not(public):
    save_subscriber(public.store, "connu@example.org", themes=["eau"])
    statements: list[str] = []

    def record(conn, cursor, statement, *args):  # noqa: ANN001, ANN002
        statements.append(statement)

    event.listen(public.store.engine, "before_cursor_execute", record)
    try:
        known = _subscribe(public, "connu@example.org", themes="eau")
        during_known = list(statements)
        statements.clear()
        unknown = _subscribe(public, "inconnu@example.org", themes="eau")
        during_unknown = list(statements)
    finally:
        event.remove(public.store.engine, "before_cursor_execute", record)
    assert known.status_code == unknown.status_code == 200
    assert known.text == unknown.text
    assert dict(known.headers) == dict(unknown.headers)

    # The same queries, and none reads the subscribers (the mail goes after the answer).
    def shape(sql: list[str]) -> list[str]:
        # SQLite's BEGIN IMMEDIATE (Store.begin) is no query: left out.
        return [s.split()[0] + " " + s.split()[2] for s in sql if not s.startswith("BEGIN")]

    assert shape(during_known) == shape(during_unknown)
    assert not any(re.search(r"\bsubscribers\b", s) for s in during_known + during_unknown)
    assert [m["To"] for m in public.recorder.messages] == [
        "connu@example.org",
        "inconnu@example.org",
    ]


def test_an_expired_or_forged_confirmation_link_subscribes_no_one(public, monkeypatch):
    _subscribe(public, "tard@example.org")
    link = _confirm_link(public.recorder.messages[0])
    token = link.rsplit("/", 1)[1]
    key = token.split(".")[0]
    past = int(time.time()) - 49 * 3600  # the link lives 48 hours
    monkeypatch.setattr(TimestampSigner, "get_timestamp", lambda self: past)
    old = TimestampSigner(public.app.state.secret, salt="watcher.subscribe-confirm").sign(key)
    monkeypatch.undo()
    expired = public.post(f"/abonnement/confirmer/{old.decode()}")
    assert expired.status_code == 410 and "a expiré" in expired.text
    forged = public.post(f"/abonnement/confirmer/{key}.AAAAAA.BBBBBBBBBBBBBBBBBBBBBBBBBBB")
    assert forged.status_code == 404
    assert list_subscribers(public.store) == []


def test_one_address_gets_at_most_three_confirmations_a_day(public):
    answers = [_subscribe(public, f"{case}@example.org").text for case in ("cible", "CIBLE") * 3]
    assert len(set(answers)) == 1  # the same page every time
    assert len(public.recorder.messages) == 3


def test_plus_tags_share_their_mailboxs_three_confirmations(public):
    """« nom+1@x », « nom+2@x »… reach one mailbox: one client could otherwise send
    it all its 10 posts an hour (240 mails a day)."""
    for address in ("cible+1@example.org", "Cible+2@example.org", "cible@example.org"):
        _subscribe(public, address)
    _subscribe(public, "cible+3+b@example.org")
    assert len(public.recorder.messages) == 3
    # other mailboxes keep their own share, even with a `_` or `%` (LIKE's wildcards)
    for address in ("cibles+1", "axb+1", "axb+2", "axb+3", "azzb+1", "azzb+2", "azzb+3"):
        insert_request(public.store, email=f"{address}@example.org", themes=[], types=[], scopes=[])
    for address in ("cibles@example.org", "a_b@example.org", "a%b@example.org"):
        _subscribe(public, address)
    assert len(public.recorder.messages) == 6


def test_the_form_is_rate_limited_per_client_and_robots_get_nothing(public):
    trap = public.post(FORM, data={"email": "robot@example.org", "site_web": "http://spam"})
    assert trap.status_code == 200 and "Vérifiez votre messagerie" in trap.text
    assert public.recorder.messages == []
    for n in range(9):
        assert _subscribe(public, f"n{n}@example.org").status_code == 200
    limited = _subscribe(public, "encore@example.org")
    assert limited.status_code == 429 and "Trop de demandes" in limited.text
    assert len(public.recorder.messages) == 9
    # when to come back, for the reader and for a client that reads Retry-After
    wait = int(limited.headers["retry-after"])
    assert 3500 < wait <= 3600
    assert "réessayez dans 60 minutes" in limited.text


def test_a_bad_address_is_said_so_with_the_choices_kept(public):
    answer = _subscribe(public, "pas une adresse", themes="eau")
    assert answer.status_code == 400 and "Cette adresse e-mail n’est pas valide" in answer.text
    assert 'value="eau" checked' in answer.text and public.recorder.messages == []
    assert 'aria-invalid="true" aria-describedby="erreur"' in answer.text  # the field, named
    # an id the form never offers (an old page, a hand-made post): the choices are named
    choices = _subscribe(public, "a@example.org", themes="chaleur")
    assert choices.status_code == 400 and "Ces choix de thèmes" in choices.text
    assert "aria-invalid" not in choices.text and 'value="a@example.org"' in choices.text
    assert "aria-invalid" not in public.get(FORM).text


def _manage_links(client, email: str) -> tuple[str, str]:  # noqa: ANN001
    sub = get_subscriber(client.store, email=email)
    token = subscriber_token(client.app.state.secret, sub)
    return f"/abonnement/gerer/{token}", f"/abonnement/desabonner/{token}"


def test_manage_themes_pause_resume_and_unsubscribe(public):
    save_subscriber(public.store, "lecteur@example.org", themes=["eau"])
    manage, unsubscribe = _manage_links(public, "lecteur@example.org")
    page = public.get(manage)
    assert page.status_code == 200 and 'value="eau" checked' in page.text
    saved = public.post(
        manage, data={"action": "enregistrer", "themes": ["energie", "dechets_ressources"]}
    )
    assert "Vos choix sont enregistrés" in saved.text
    assert get_subscriber(public.store, email="lecteur@example.org")["themes"] == [
        "dechets_ressources",
        "energie",
    ]
    assert public.post(manage, data={"action": "enregistrer", "themes": "zzz"}).status_code == 400
    public.post(manage, data={"action": "suspendre"})
    assert get_subscriber(public.store, email="lecteur@example.org")["status"] == "paused"
    public.post(manage, data={"action": "reprendre"})
    assert get_subscriber(public.store, email="lecteur@example.org")["status"] == "active"
    gone = public.post(manage, data={"action": "desabonner"}, follow_redirects=False)
    assert gone.status_code == 303  # post/redirect/get: a reload does not post again
    shown = public.get(urljoin(manage, gone.headers["location"]))
    assert shown.url.path == unsubscribe and "ne recevra plus" in shown.text
    assert get_subscriber(public.store, email="lecteur@example.org")["status"] == "unsubscribed"
    again = public.post(manage, data={"action": "desabonner"})  # the form sent twice: no 409
    assert again.status_code == 200 and "ne recevra plus" in again.text
    left = public.get(manage)
    assert "abonnez-vous" in left.text and "Enregistrer mes choix" not in left.text
    assert public.post(manage, data={"action": "reprendre"}).status_code == 409
    assert get_subscriber(public.store, email="lecteur@example.org")["status"] == "unsubscribed"


def test_the_manage_page_never_says_what_the_status_contradicts(public):
    """A second click on the confirmation link, or a reload of an old ?etat= address,
    after the reader paused or left: no « vous recevrez le prochain bulletin »."""
    _subscribe(public, "relu@example.org", themes="eau")
    link = _confirm_link(public.recorder.messages[-1])
    assert "Votre abonnement est confirmé" in public.post(link).text
    manage, unsubscribe = _manage_links(public, "relu@example.org")
    public.post(manage, data={"action": "suspendre"})
    again = public.post(link)  # the mail's button, clicked again
    assert "abonnement suspendu" in again.text and "est confirmé" not in again.text
    assert "Votre abonnement a repris" not in public.get(f"{manage}?etat=repris").text
    public.post(unsubscribe)
    asked = public.get(link).text
    assert "déjà été confirmée" in asked and "abonnement est déjà confirmé" not in asked
    for shown in (public.post(link), public.get(f"{manage}?etat=suspendu")):
        assert "désabonné·e" in shown.text
        assert "est confirmé" not in shown.text and "est suspendu" not in shown.text
    assert get_subscriber(public.store, email="relu@example.org")["status"] == "unsubscribed"


def test_one_click_unsubscribe_needs_no_session_and_get_changes_nothing(public):
    save_subscriber(public.store, "clic@example.org", themes=["eau"])
    _, unsubscribe = _manage_links(public, "clic@example.org")
    anonymous = TestClient(public.app, base_url="http://127.0.0.1", cookies=None)
    page = anonymous.get(unsubscribe)
    assert page.status_code == 200 and "Confirmer le désabonnement" in page.text
    assert get_subscriber(public.store, email="clic@example.org")["status"] == "active"
    done = anonymous.post(
        unsubscribe,
        content=b"List-Unsubscribe=One-Click",
        headers={"Content-Type": "application/x-www-form-urlencoded"},
    )
    assert done.status_code == 200 and "ne recevra plus" in done.text
    assert get_subscriber(public.store, email="clic@example.org")["status"] == "unsubscribed"
    sub = get_subscriber(public.store, email="clic@example.org")
    forged = subscriber_token("another secret", sub)
    assert anonymous.post(f"/abonnement/desabonner/{forged}").status_code == 404
    assert anonymous.get(f"/abonnement/gerer/{sub['key']}").status_code == 404  # unsigned


def test_someone_who_left_comes_back_through_the_opt_in(public, store):
    save_subscriber(
        store, "retour@example.org", themes=["eau"], created_at=datetime(2026, 1, 5, tzinfo=UTC)
    )
    set_subscriber_status(store, "retour@example.org", "unsubscribed")
    _subscribe(public, "retour@example.org", themes="energie")
    assert get_subscriber(store, email="retour@example.org")["status"] == "unsubscribed"
    public.post(_confirm_link(public.recorder.messages[-1]))
    back = get_subscriber(store, email="retour@example.org")
    assert back["status"] == "active" and back["themes"] == ["energie"]
    assert back["created_at"].year > 2026 or back["created_at"] > datetime(2026, 1, 6, tzinfo=UTC)


def test_public_pages_carry_the_csp_and_no_inline_script(public):
    save_subscriber(public.store, "csp@example.org")
    manage, unsubscribe = _manage_links(public, "csp@example.org")
    for path in (FORM, manage, unsubscribe, "/abonnement/confirmer/x.y.z"):
        response = public.get(path)
        assert "default-src 'self'" in response.headers["content-security-policy"], path
        assert response.headers["x-content-type-options"] == "nosniff"
        assert "<script" not in response.text and " on" + "click=" not in response.text
        assert 'href="' in response.text and "static/public.css" in response.text
    css = public.get("/abonnement/static/public.css")
    assert css.status_code == 200 and "max-width" in css.text


def test_an_unconfirmed_request_never_gets_a_bulletin(published, smtp, tmp_path):
    store, _ids = published
    recorder, port = smtp
    settings = smtp_settings(port, tmp_path)
    client = TestClient(create_app(store, settings), base_url="http://127.0.0.1")
    client.post(FORM, data={"email": "jamais@example.org"})
    recorder.messages.clear(), recorder.envelopes.clear(), recorder.raw.clear()
    send_week(store, WEEK, settings)
    assert "jamais@example.org" not in recorder.by_recipient()


def test_the_sites_subscribe_page_links_to_the_form_only_when_there_is_one():
    from tests.shared import make_settings
    from watcher.publish.render import render

    def page(settings) -> str:  # noqa: ANN001
        return render(
            "site/subscribe.html",
            settings,
            root="../",
            page="abonnements/index.html",
            site_title="Veille EIT Grand Est",
            themes={"eau": "Eau"},
            types={},
            item_paths={},
            subscribe_url=settings.desk.subscription_url(),
            public_url=None,
            theme=None,
        )

    with_app = page(make_settings(desk={"public_url": "https://veille.example.org/app"}))
    assert '<a href="https://veille.example.org/app/abonnement/">' in with_app
    without = page(make_settings())
    assert "/abonnement/" not in without and "S'abonner sans e-mail" in without


def test_without_a_public_address_the_form_says_it_is_closed(store, tmp_path):
    from tests.shared import make_settings

    client = TestClient(create_app(store, make_settings(tmp_path)), base_url="http://127.0.0.1")
    for response in (client.get(FORM), client.post(FORM, data={"email": "a@example.org"})):
        assert response.status_code == 503 and "pas encore ouvert" in response.text
    assert list_subscribers(store) == []


def test_a_wrong_address_or_method_under_the_prefix_gets_a_readers_page(public):
    """A link cut after « confirmer/ », a PUT…: the readers' notice, whose links
    stay under /abonnement/ (the proxy may publish only that), not the desk's page."""
    cases = {
        "/abonnement/confirmer/": ("GET", 404, "../"),
        "/abonnement/gerer/x/y": ("GET", 404, "../../"),
        "/abonnement/inconnue": ("GET", 404, "./"),
        "/abonnement/static/nulle-part.css": ("GET", 404, "../"),
        "/abonnement/": ("PUT", 405, "./"),
    }
    for path, (method, status, root) in cases.items():
        page = public.request(method, path)
        assert page.status_code == status, path
        assert "bureau" not in page.text and "/static/desk.css" not in page.text, path
        assert f'href="{root}static/public.css"' in page.text, path
        assert f'<a href="{root}">Formulaire d’abonnement</a>' in page.text, path
        assert page.headers["cache-control"] == "no-store", path
    save_subscriber(public.store, "methode@example.org")
    for path in (FORM, *_manage_links(public, "methode@example.org"), "/abonnement/confirmer/x"):
        for method in ("PUT", "DELETE", "OPTIONS"):  # RFC 9110: Allow lists every method
            allow = public.request(method, path).headers["allow"]
            assert set(allow.split(", ")) == {"GET", "HEAD", "POST"}, (method, path)
    assert "bureau" in public.get("/nulle-part").text  # the desk keeps its own


def test_the_form_throttle_forgets_old_posts_and_bounds_its_memory():
    from watcher.desk.public import FormThrottle

    throttle = FormThrottle(per_client=2, in_all=3, window_s=60)
    assert throttle.allow("a", now=0) and throttle.allow("a", now=1)
    assert not throttle.allow("a", now=2)  # per client
    assert throttle.retry_after("a", now=2) == 58  # when its first post leaves the window
    assert throttle.retry_after("b", now=2) == 0
    assert throttle.allow("a", now=61)  # the window slid
    assert all(throttle.allow(f"c{n}", now=62) for n in range(2))
    assert not throttle.allow("c9", now=63)  # for everyone: 3 in the last minute
    for n in range(10_000):  # refused clients leave nothing behind
        throttle.allow(f"x{n}", now=64)
    assert set(throttle._times) == {"*", "a", "c0", "c1"}
    for minute in range(2, 30):  # new clients every minute: old ones are swept
        for n in range(3):
            assert throttle.allow(f"m{minute}-{n}", now=minute * 60 + 10 + n)
    assert len(throttle._times) <= 2 * 3 + 4


def test_a_malformed_or_oversized_body_under_the_prefix_gets_a_readers_page(public):
    """A reader's form that arrives broken (no multipart boundary) or too big: the
    readers' notice with the right status, not the desk's 400 page (its links lead
    into the desk) nor a bare line of text for the 413."""
    big = b"email=" + b"x" * (public.settings.desk.max_form_kib * 1024 + 1)

    def chunks():  # noqa: ANN202 - no Content-Length: cut as the body passes the cap
        yield big

    save_subscriber(public.store, "corps@example.org")
    manage = _manage_links(public, "corps@example.org")[0]
    form = {"content-type": "application/x-www-form-urlencoded"}
    cases = [
        (FORM, b"x", {"content-type": "multipart/form-data"}, 400, "./"),
        (FORM, b"x", {"content-type": "multipart/form-data; boundary=--"}, 400, "./"),
        (manage, b"x", {"content-type": "multipart/form-data"}, 400, "../"),
        (FORM, big, form, 413, "./"),
        (manage, big, form, 413, "../"),
        (FORM, chunks(), form, 413, "./"),
    ]
    for path, body, headers, status, root in cases:
        page = public.post(path, content=body, headers=headers)
        assert page.status_code == status, (path, status, page.text)
        assert page.headers["content-type"].startswith("text/html"), (path, status)
        assert "bureau" not in page.text and "/static/desk.css" not in page.text, path
        assert "href='/'" not in page.text and 'href="/"' not in page.text, path
        assert f'href="{root}static/public.css"' in page.text, (path, status)
        assert f'<a href="{root}">Formulaire d’abonnement</a>' in page.text, (path, status)
        assert page.headers["cache-control"] == "no-store", path
        assert page.headers["x-content-type-options"] == "nosniff", path
    desk = public.post("/connexion", content=big, headers=form)  # the desk keeps its own
    assert desk.status_code == 413 and "Envoi trop volumineux" in desk.text
    assert "public.css" not in desk.text
