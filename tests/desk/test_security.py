"""The desk under hostile input, on a real local server (uvicorn, 127.0.0.1):
upload names, odd static paths, labels outside the taxonomy, one transaction per
form, long reports, Host names (DNS rebinding), body caps, sign-in throttling,
sessions that end, cookies, headers on every response, case of user names."""

from __future__ import annotations

import socket
import time
from urllib.parse import urlsplit

import httpx
import pytest

from tests.desk.builder import WEEK, build_store
from tests.shared import make_settings
from watcher.desk.accounts import create_user, set_password
from watcher.desk.app import create_app
from watcher.desk.security import LoginThrottle
from watcher.store.bulletins import entries
from watcher.store.desk import UserError, delete_user
from watcher.store.labels import effective_labels, get_overrides

from .conftest import PASSWORD, USER, log_in, served


@pytest.fixture
def server(store, tmp_path):
    """A signed-in client of a desk on a real server, with its store and ids."""
    settings = make_settings(tmp_path)
    ids = build_store(store)
    create_user(store, USER, PASSWORD)
    app = create_app(store, settings)
    with served(app) as url, httpx.Client(base_url=url, timeout=20) as client:
        assert log_in(client).status_code == 303
        client.ids, client.store, client.app, client.url = ids, store, app, url
        yield client


def _post(client, path, fetch=False, **data):  # noqa: ANN001, ANN202
    headers = {"X-Requested-With": "fetch"} if fetch else {}
    return client.post(path, data={"csrf": client.csrf, **data}, headers=headers)


@pytest.mark.parametrize("name", [".", "..", "/", "a" * 300, "../../etc/passwd", "liste\x00.csv"])
def test_any_upload_name_is_a_clean_answer(server, name):
    csv_data = b"email,name\nnom@example.org,Nom\n"
    response = server.post(
        "/abonnes/importer",
        data={"csrf": server.csrf},
        files={"file": (name, csv_data, "text/csv")},
    )
    assert response.status_code == 303, response.text[:300]
    page = server.get("/abonnes").text
    assert "Import : 1 ajouté·e(s)" in page or "déjà présent" in page


@pytest.mark.parametrize(
    "path", ["/static/desk.js%00.css", "/static/%2e%2e/base.html", "/static/\x01"]
)
def test_odd_static_paths_are_404(server, path):
    # sent as is on the wire (httpx would refuse the control character itself)
    request = f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
    answer = _raw(server.url, request.encode("latin-1"))
    assert answer.startswith((b"HTTP/1.1 404", b"HTTP/1.1 400")), answer[:200]
    if "\x01" not in path:  # uvicorn's parser refuses a raw control byte itself (400)
        assert answer.startswith(b"HTTP/1.1 404")
        assert b"x-content-type-options: nosniff" in answer.lower()
    assert server.get("/static/desk.js").status_code == 200


@pytest.mark.parametrize(
    "field, value", [("type", "pirate"), ("themes", "zzz"), ("scope", "mars"), ("axes", "x")]
)
def test_labels_outside_the_taxonomy_are_refused(server, field, value):
    item = server.ids["reut"]
    form = {"type": "reglementation", "themes": "eau", "scope": "france", field: value}
    response = _post(server, f"/semaine/{WEEK}/element/{item}/etiquettes", fetch=True, **form)
    assert response.status_code == 409 and "inconnue" in response.text
    assert get_overrides(server.store, [item]) == {}
    plain = _post(server, f"/semaine/{WEEK}/element/{item}/etiquettes", **form)
    assert plain.status_code == 303
    assert "inconnue" in server.get(plain.headers["location"]).text
    assert get_overrides(server.store, [item]) == {}


def test_a_refused_form_saves_nothing_of_it(server):
    item = server.ids["reut"]
    response = _post(
        server,
        f"/semaine/{WEEK}/element/{item}/etiquettes",
        fetch=True,
        type="actualite",
        themes=["eau", "energie"],
        scope="grand_est",
        deadline="31/12/2026",
    )
    assert response.status_code == 409 and "Date limite" in response.text
    labels = effective_labels(server.store, [item])[item]
    assert (labels.type, labels.themes, labels.scope) == ("reglementation", ["eau"], "france")
    assert get_overrides(server.store, [item]) == {}
    # a bad event date in the same form: nothing either
    response = _post(
        server,
        f"/semaine/{WEEK}/element/{item}/etiquettes",
        fetch=True,
        type="evenement",
        event_start_date="2027-03-12",
        event_end_date="2027-03-10",
        event_place="Metz",
    )
    assert response.status_code == 409 and "précède" in response.text
    assert get_overrides(server.store, [item]) == {}


def test_a_long_import_report_stays_on_the_server(server):
    rows = "".join(f"mauvaise-adresse-{n:02d}-{'x' * 300},Nom {n}\n" for n in range(25))
    response = server.post(
        "/abonnes/importer",
        data={"csrf": server.csrf},
        files={"file": ("liste.csv", b"email,name\n" + rows.encode(), "text/csv")},
    )
    assert response.status_code == 303
    cookies = response.headers.get_list("set-cookie")
    assert cookies and all(len(c) < 4096 for c in cookies)
    assert max(len(c) for c in cookies) < 1000
    page = server.get("/abonnes").text
    assert page.count("mauvaise-adresse-") == 25  # every bad row is reported
    assert "25 ligne(s) en erreur" in page
    assert "mauvaise-adresse-" not in server.get("/abonnes").text  # shown once


def _raw(url: str, request: bytes, read_timeout: float = 10.0) -> bytes:
    parts = urlsplit(url)
    with socket.create_connection((parts.hostname, parts.port), timeout=read_timeout) as sock:
        sock.sendall(request)
        answer = b""
        while b"\r\n\r\n" not in answer:
            chunk = sock.recv(65536)
            if not chunk:
                break
            answer += chunk
        return answer


def test_host_names_other_than_the_desks_get_400(server):
    port = urlsplit(server.url).port
    evil = httpx.get(f"{server.url}/semaine/{WEEK}", headers={"Host": f"rebind.example:{port}"})
    assert evil.status_code == 400
    assert evil.headers["content-security-policy"].startswith("default-src 'self'")
    unsubscribe = httpx.post(f"{server.url}/desabonnement/x", headers={"Host": "attacker.test"})
    assert unsubscribe.status_code == 400
    for host in (f"127.0.0.1:{port}", f"localhost:{port}", f"[::1]:{port}", "LOCALHOST"):
        ok = httpx.get(f"{server.url}/connexion", headers={"Host": host})
        assert ok.status_code == 200, host


@pytest.mark.parametrize(
    "desk",
    [
        {"allowed_hosts": ["veille.example.org"]},
        {"public_url": "https://Veille.example.org/bureau/"},
    ],
)
def test_the_public_name_is_a_setting(store, tmp_path, desk):
    build_store(store)
    settings = make_settings(tmp_path, desk=desk)
    with served(create_app(store, settings)) as url:
        for host, status in (
            ("veille.example.org", 200),
            ("veille.example.org:443", 200),
            ("autre.example.org", 400),
            ("veille.example.org.attacker.test", 400),
        ):
            answer = httpx.get(f"{url}/connexion", headers={"Host": host})
            assert answer.status_code == status, host


def test_bodies_over_the_cap_are_refused_before_being_read(server):
    # 200 MB announced, 64 kB sent: the answer comes at once (nothing waits for the rest)
    head = (
        b"POST /connexion HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nContent-Length: 200000000\r\n\r\n"
    )
    started = time.monotonic()
    answer = _raw(server.url, head + b"a=" + b"x" * 65536, read_timeout=10)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert time.monotonic() - started < 8
    # a chunked body with no length is cut as soon as it passes the cap
    chunk = b"x" * (64 * 1024)
    body = b"".join(b"%x\r\n%s\r\n" % (len(chunk), chunk) for _ in range(8)) + b"0\r\n\r\n"
    chunked = (
        b"POST /connexion HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        b"Content-Type: application/x-www-form-urlencoded\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    assert _raw(server.url, chunked + body).startswith(b"HTTP/1.1 413")
    big_upload = server.post(
        "/abonnes/importer",
        data={"csrf": server.csrf},
        files={"file": ("gros.csv", b"x" * (3 * 1024 * 1024), "text/csv")},
    )
    assert big_upload.status_code == 413
    assert big_upload.headers["x-content-type-options"] == "nosniff"
    assert _post(server, f"/semaine/{WEEK}/mot", editorial="Un petit mot").status_code == 303


def test_sign_in_slows_down_instead_of_locking_out(store, tmp_path):
    settings = make_settings(tmp_path)
    create_user(store, USER, PASSWORD)
    app = create_app(store, settings)
    now = [1000.0]
    app.state.login_throttle = LoginThrottle(clock=lambda: now[0])
    with served(app) as url:
        curator = httpx.Client(base_url=url)
        assert log_in(curator).status_code == 303  # her browser now carries a device cookie
        attacker = httpx.Client(base_url=url)
        waits = []
        for n in range(8):
            # a rotating X-Forwarded-For from loopback is not believed (no trusted proxy)
            answer = log_in(attacker, password=f"essai-{n}", **{"X-Forwarded-For": f"10.0.0.{n}"})
            if answer.status_code == 429:
                waits.append(int(answer.headers["retry-after"]))
                now[0] += waits[-1]  # the attacker waits as told, then tries again
            else:
                assert answer.status_code == 401
        assert waits and waits == sorted(waits) and waits[-1] > waits[0]  # growing delays
        # the curator, from her own browser, is not held back by the attack on her account
        curator.cookies.pop("veille_session", None)
        assert log_in(curator).status_code == 303
        # nor is a colleague's browser past the (bounded) delay: no lock-out
        now[0] += 61
        colleague = httpx.Client(base_url=url, headers={"X-Forwarded-For": "10.9.9.9"})
        assert log_in(colleague).status_code == 303


def test_forwarded_for_is_read_only_from_configured_proxies(store, tmp_path):
    settings = make_settings(tmp_path, desk={"trusted_proxies": ["127.0.0.1/32"]})
    create_user(store, USER, PASSWORD)
    app = create_app(store, settings)
    app.state.login_throttle = LoginThrottle(clock=lambda: 0.0)
    with served(app) as url:
        client = httpx.Client(base_url=url)
        for _n in range(4):
            log_in(client, password="faux", **{"X-Forwarded-For": "203.0.113.7"})
        blocked = log_in(client, password="faux", **{"X-Forwarded-For": "203.0.113.7"})
        assert blocked.status_code == 429
        # another client behind the same proxy, on another account, is not held back
        other = httpx.Client(base_url=url)
        answer = log_in(other, "paul", "faux", **{"X-Forwarded-For": "198.51.100.4"})
        assert answer.status_code == 401
        # while the first address stays throttled, whichever account it tries
        again = log_in(other, "paul", "faux", **{"X-Forwarded-For": "203.0.113.7"})
        assert again.status_code == 429


def test_sessions_end_with_logout_password_change_and_removal(server):
    store = server.store
    copied = dict(server.cookies)
    assert server.get("/abonnes", follow_redirects=False).status_code == 200
    assert _post(server, "/deconnexion").status_code == 303
    thief = httpx.Client(base_url=server.url, cookies=copied)
    assert thief.get("/abonnes", follow_redirects=False).status_code == 303  # dead cookie

    laptop, phone = httpx.Client(base_url=server.url), httpx.Client(base_url=server.url)
    log_in(laptop), log_in(phone)
    assert phone.get("/abonnes", follow_redirects=False).status_code == 200
    answer = laptop.post(
        "/compte/mot-de-passe",
        data={
            "csrf": laptop.csrf,
            "current": PASSWORD,
            "new": "nouveau-secret",
            "confirm": "nouveau-secret",
        },
    )
    assert answer.status_code == 303 and answer.headers["location"] == "/connexion"
    assert phone.get("/abonnes", follow_redirects=False).status_code == 303
    assert laptop.get("/abonnes", follow_redirects=False).status_code == 303
    assert log_in(laptop, password="nouveau-secret").status_code == 303

    set_password(store, USER, "encore-un-autre")  # the CLI's way
    assert laptop.get("/abonnes", follow_redirects=False).status_code == 303
    log_in(laptop, password="encore-un-autre")
    create_user(store, "autre", "un-autre-mot-de-passe")
    delete_user(store, USER)
    assert laptop.get("/abonnes", follow_redirects=False).status_code == 303


def test_secure_cookies_setting(store, tmp_path):
    create_user(store, USER, PASSWORD)
    for secure in (False, True):
        settings = make_settings(tmp_path, desk={"secure_cookies": secure})
        with served(create_app(store, settings)) as url:
            answer = httpx.get(f"{url}/connexion")
            cookie = answer.headers["set-cookie"]
            assert ("secure" in cookie.lower()) is secure
            assert "httponly" in cookie.lower() and "samesite=strict" in cookie.lower()


def test_every_response_carries_csp_and_nosniff(server):
    anonymous = httpx.Client(base_url=server.url)
    answers = [
        server.get("/", follow_redirects=False),  # redirect
        anonymous.get(f"/semaine/{WEEK}", follow_redirects=False),  # redirect to sign-in
        server.get("/static/desk.css"),
        server.get("/static/desk.js"),
        server.get("/static/absent.js"),
        server.get(f"/semaine/{WEEK}"),
        server.get("/semaine/2026-W99"),
        anonymous.post("/abonnes/ajouter", data={}),  # 403
        server.get(f"/semaine/{WEEK}/apercu/email"),
    ]
    for answer in answers:
        assert answer.headers.get("x-content-type-options") == "nosniff", answer.url
        csp = answer.headers.get("content-security-policy", "")
        assert "default-src" in csp and "frame-ancestors 'self'" in csp, answer.url
    page_csp = answers[5].headers["content-security-policy"]
    assert "script-src 'self'" in page_csp and "unsafe-inline" not in page_csp
    assert answers[-1].headers["content-security-policy"].startswith("default-src 'none'")


def test_user_names_are_compared_without_case(store, tmp_path):
    create_user(store, "Marie", PASSWORD)
    with pytest.raises(UserError):
        create_user(store, "marie", "un-autre-mot-de-passe")
    settings = make_settings(tmp_path)
    with served(create_app(store, settings)) as url:
        client = httpx.Client(base_url=url)
        assert log_in(client, user="MARIE").status_code == 303
        page = client.get("/compte").text
        assert "Mon compte : Marie" in page
    delete_user(store, "mARIE")


def test_bulk_and_statuses_refuse_unknown_values(server):
    response = _post(
        server, f"/semaine/{WEEK}/lot", fetch=True, status="pirate", ids=[server.ids["reut"]]
    )
    assert response.status_code == 409
    assert entries(server.store, WEEK) == {}


def test_an_unexpected_error_is_a_french_500_with_the_headers(store, tmp_path):
    from starlette.routing import Route

    settings = make_settings(tmp_path)
    app = create_app(store, settings)

    async def broken(request):  # noqa: ANN001, ANN202
        raise RuntimeError("secret detail")

    app.router.routes.insert(0, Route("/casse", broken))
    with served(app) as url:
        answer = httpx.get(f"{url}/casse")
    assert answer.status_code == 500 and "Erreur du bureau" in answer.text
    assert "secret detail" not in answer.text and "Traceback" not in answer.text
    assert answer.headers["x-content-type-options"] == "nosniff"
    assert "default-src 'self'" in answer.headers["content-security-policy"]
