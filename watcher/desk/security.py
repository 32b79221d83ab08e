"""Sessions, CSRF tokens, sign-in throttling and the loopback rule of the desk.

The session cookie (Starlette's SessionMiddleware, signed with the secret named
in ``desk.secret_key_env`` or one generated once and kept in the store) holds a
random session token, the CSRF token and the id of pending flash messages. The
token is checked against ``desk_sessions`` on every request: signing out, a new
password or a removed account deletes the row, so a copied cookie dies with it.
Every POST form sends the CSRF token back and a POST without it gets 403; the
only exception is the unsubscribe link, whose signed token is itself the proof.
The 403 says in French what happened: to desk.js as JSON (it keeps the typed
text on the page, and fetches the current token from ``/session/jeton`` once
the curator signed in again), to a plain form as a page linking to the sign-in
page with the page to return to (``safe_next``: a local path only).
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import math
import secrets
import time
from collections.abc import Awaitable, Callable
from datetime import timedelta
from urllib.parse import quote, urlsplit

from itsdangerous import BadSignature, URLSafeTimedSerializer
from markupsafe import escape
from starlette.requests import Request
from starlette.responses import HTMLResponse, JSONResponse, RedirectResponse, Response

from watcher.desk.guard import client_address
from watcher.exceptions import ConfigError
from watcher.store import desk as desk_store

Endpoint = Callable[[Request], Awaitable[Response]]
LOCAL_USER = "local"
# The desk's own stylesheet and a phone's width for its bare pages (refusals, errors),
# so that they read like the rest of the desk at 390 px as at 1280 px.
PAGE_HEAD = (
    "<meta name='viewport' content='width=device-width, initial-scale=1'>"
    "<link rel='stylesheet' href='/static/desk.css'>"
)
DEVICE_COOKIE = "veille_appareil"
DEVICE_MAX_AGE_S = 180 * 86400


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_host(host: str) -> None:
    """Refuse a blank address (exit 2): some servers read it as every interface."""
    if not host.strip():
        raise ConfigError(
            f"desk.host = {host!r}: no address to listen on",
            hint="keep the default 127.0.0.1, or write 0.0.0.0 to listen on every interface",
        )


def check_bind(host: str, accounts: int) -> None:
    """Refuse a blank address, and a non-loopback one while no curator account exists."""
    check_host(host)
    if not is_loopback(host) and accounts == 0:
        raise ConfigError(
            f"refusing to listen on {host}: no curator account exists, so the desk "
            "would be open to anyone on the network",
            hint="create one with `watcher users add NAME`, or keep the default 127.0.0.1",
        )


def client_ip(request: Request) -> str:
    """The client's address, through ``desk.trusted_proxies`` only."""
    return client_address(request.scope, request.app.state.settings.desk.trusted_proxies)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def sign_in(request: Request, username: str) -> None:
    """A fresh session (no fixation) for the account, recorded in the store."""
    store = request.app.state.store
    old = request.session.get("sid")
    if old:
        desk_store.end_session(store, old)
    csrf = request.session.get("csrf")
    request.session.clear()
    max_age = timedelta(hours=request.app.state.settings.desk.session_max_age_h)
    request.session["sid"] = desk_store.create_session(store, username, forget_after=max_age)
    request.session["csrf"] = csrf or secrets.token_urlsafe(32)
    request.state.user = username


def sign_out(request: Request) -> None:
    sid = request.session.get("sid")
    if sid:
        desk_store.end_session(request.app.state.store, sid)
    request.session.clear()


def current_user(request: Request) -> str | None:
    """The signed-in curator; with no account at all, the local user on loopback."""
    if "desk_user" in request.scope:
        return request.scope["desk_user"]
    state = request.app.state
    user = None
    sid = request.session.get("sid")
    if sid:
        max_age = timedelta(hours=state.settings.desk.session_max_age_h)
        user = desk_store.session_user(state.store, sid, max_age=max_age)
        if user is None:
            request.session.pop("sid", None)  # ended elsewhere: this cookie is dead
    if user is None and not state.has_accounts() and is_loopback(client_ip(request)):
        user = LOCAL_USER
    request.scope["desk_user"] = user
    return user


def safe_next(value: str) -> str:
    """``value`` if it is a path on this desk, else ``/``: the sign-in page never
    sends a curator to another site (``//host``, ``/\\host``, ``https://host``,
    a tab or newline that browsers drop from a URL)."""
    if (
        not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 33 or ord(c) == 127 for c in value)
        or len(value) > 2000
    ):
        return "/"
    try:
        parts = urlsplit(value)
    except ValueError:
        return "/"
    return "/" if parts.scheme or parts.netloc else value


def return_path(request: Request) -> str:
    """The desk page the request was sent from (its ``Referer``, on this desk
    only), to come back to after signing in again; else ``/``."""
    try:
        referer = urlsplit(request.headers.get("referer", ""))
    except ValueError:
        return "/"
    if referer.netloc.lower() != request.headers.get("host", "").lower() or not referer.path:
        return "/"
    return safe_next(referer.path + (f"?{referer.query}" if referer.query else ""))


def login_url(path: str) -> str:
    return "/connexion?suite=" + quote(safe_next(path), safe="/")


# What a curator typed in the desk's text fields, shown back on a refusal page
# so that nothing is lost without JavaScript either.
_TYPED = {"title": "Titre", "summary": "Résumé", "editorial": "Le mot de l’équipe"}


async def refused(request: Request, signed_in: bool) -> Response:
    """403 for a POST with no session or no valid CSRF token, saving nothing.
    desk.js gets JSON (``reason``: ``session`` or ``jeton``, and the sign-in
    address); a plain form gets a French page linking to the sign-in page (or,
    signed in, back to the page), with the text typed in the form to copy."""
    back_to = return_path(request)
    reason = "jeton" if signed_in else "session"
    if signed_in:
        message = (
            "Le jeton de sécurité de ce formulaire n’est plus valide (la page a été "
            "ouverte avant une reconnexion) : rien n’a été enregistré."
        )
        link, label = back_to, "Revenir à la page et recommencer"
    else:
        message = "Votre session a expiré ou a été fermée : rien n’a été enregistré."
        link, label = login_url(back_to), "Se reconnecter (puis retour à la page)"
    if request.headers.get("x-requested-with") == "fetch":
        return JSONResponse(
            {"reason": reason, "message": message, "login": login_url(back_to)},
            status_code=403,
            headers={"Cache-Control": "no-store"},
        )
    typed = ""
    try:
        form = await request.form()
    except Exception:  # noqa: BLE001 - a malformed body: nothing to show back
        form = None
    for name, label_fr in _TYPED.items():
        value = str(form.get(name) or "") if form is not None else ""
        if value.strip():
            typed += (
                f"<p><label for='typed-{name}'>{escape(label_fr)}</label><br>"
                f"<textarea id='typed-{name}' rows='6' readonly>"
                f"{escape(value)}</textarea></p>"
            )
    if typed:
        typed = (
            "<h2>Votre texte, à copier avant de quitter cette page</h2>"
            + typed
            + "<p>Le bouton Précédent du navigateur ramène aussi, en général, au "
            "formulaire tel que vous l’aviez rempli.</p>"
        )
    return HTMLResponse(
        "<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'>"
        f"{PAGE_HEAD}<title>Requête refusée · Veille EIT Grand Est</title></head><body>"
        f"<main class='bare'><h1>Requête refusée</h1><p>{escape(message)}</p>"
        f"<p><a href='{escape(link)}'>{escape(label)}</a></p>{typed}</main></body></html>",
        status_code=403,
        headers={"Cache-Control": "no-store"},
    )


def login_required(endpoint: Endpoint) -> Endpoint:
    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        user = current_user(request)
        if user is None:
            if request.method == "GET":
                return RedirectResponse(login_url(request.url.path), status_code=303)
            return await refused(request, signed_in=False)
        request.state.user = user
        return await endpoint(request)

    return wrapped


def csrf_protected(endpoint: Endpoint) -> Endpoint:
    """Refuse a POST whose form (or X-CSRF-Token header) lacks the session's token."""

    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        form = await request.form()  # cached on the request: the endpoint reads it again
        sent = str(form.get("csrf") or request.headers.get("x-csrf-token") or "")
        expected = request.session.get("csrf") or ""
        if not expected or not hmac.compare_digest(sent.encode(), expected.encode()):
            return await refused(request, signed_in=current_user(request) is not None)
        return await endpoint(request)

    wrapped.csrf_protected = True  # type: ignore[attr-defined]
    return wrapped


async def session_token(request: Request) -> Response:
    """``GET /session/jeton``, for desk.js only: the session's CSRF token once the
    curator is signed in (again), so a form kept open on the page can be sent
    after a sign-in in another tab. Same-origin only in effect: the answer is
    JSON (not readable by another site's page, no CORS), the session cookie is
    SameSite=Strict, and the custom header it requires forces a preflight on any
    cross-origin request. 401 while nobody is signed in."""
    headers = {"Cache-Control": "no-store"}
    if request.headers.get("x-requested-with") != "fetch":
        return JSONResponse({"error": "fetch only"}, status_code=400, headers=headers)
    if current_user(request) is None:
        return JSONResponse(
            {"signed_in": False, "login": login_url(return_path(request))},
            status_code=401,
            headers=headers,
        )
    return JSONResponse({"signed_in": True, "csrf": csrf_token(request)}, headers=headers)


def post_form(endpoint: Endpoint) -> Endpoint:
    """A curator's POST endpoint: signed in, and with a valid CSRF token."""
    return csrf_protected(login_required(endpoint))


# -- sign-in throttling ------------------------------------------------------------


class LoginThrottle:
    """Growing delays, never a lock-out. After ``free`` failures on a key (an
    address, an account), the next attempt on it must wait ``base_s * 2**k``
    seconds after the last failure (k = failures beyond ``free``), at most the
    key's cap; a success clears the key. An attempt made too early is refused
    without checking the password, so guessing from one address is slowed down
    exponentially, while a curator whose browser carries a device cookie of a
    past sign-in is not held back by failures on the account from elsewhere."""

    def __init__(
        self,
        free: int = 3,
        base_s: float = 1.0,
        caps: dict[str, float] | None = None,
        forget_s: float = 6 * 3600,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.free = free
        self.base_s = base_s
        self.caps = caps or {"ip": 900.0, "user": 60.0}
        self.forget_s = forget_s
        self.clock = clock
        self._failures: dict[str, tuple[int, float]] = {}  # key -> (count, last failure)

    def _delay(self, key: str, count: int) -> float:
        if count < self.free:
            return 0.0
        cap = self.caps.get(key.split(":", 1)[0], 60.0)
        return min(cap, self.base_s * 2 ** (count - self.free))

    def wait(self, keys: list[str]) -> int:
        """Seconds before the next attempt on these keys is heard (0: now)."""
        now = self.clock()
        longest = 0.0
        for key in keys:
            count, last = self._failures.get(key, (0, now))
            if now - last > self.forget_s:
                self._failures.pop(key, None)
                continue
            longest = max(longest, last + self._delay(key, count) - now)
        return math.ceil(longest) if longest > 0 else 0

    def failed(self, keys: list[str]) -> None:
        now = self.clock()
        if len(self._failures) > 50_000:  # many names or addresses: forget the stale ones
            self._failures = {
                k: v for k, v in self._failures.items() if now - v[1] <= self.forget_s
            }
        for key in keys:
            count, _last = self._failures.get(key, (0, now))
            self._failures[key] = (count + 1, now)

    def succeeded(self, keys: list[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)


def _devices(secret: str) -> URLSafeTimedSerializer:
    return URLSafeTimedSerializer(secret, salt="watcher-desk-device")


def device_cookie(secret: str, username: str) -> str:
    return _devices(secret).dumps(username.lower())


def known_device(request: Request, username: str) -> bool:
    """The browser signed in to this account before (a signed, long-lived cookie)."""
    value = request.cookies.get(DEVICE_COOKIE, "")
    if not value:
        return False
    try:
        name = _devices(request.app.state.secret).loads(value, max_age=DEVICE_MAX_AGE_S)
    except BadSignature:
        return False
    return name == username.lower()


def throttle_keys(request: Request, username: str) -> list[str]:
    keys = [f"ip:{client_ip(request)}"]
    if not known_device(request, username):
        keys.append(f"user:{username.lower()}")
    return keys
