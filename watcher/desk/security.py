"""Sessions, CSRF tokens and the loopback rule of the desk.

Sessions live in a cookie signed by Starlette's SessionMiddleware (itsdangerous)
with the secret named in ``desk.secret_key_env`` or one generated once and
kept in the store. Each session carries a random CSRF token; every POST form
sends it back and a POST without it gets 403. The only exception is the
unsubscribe link, whose signed token is itself the proof.
"""

from __future__ import annotations

import functools
import hmac
import ipaddress
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from watcher.exceptions import ConfigError

Endpoint = Callable[[Request], Awaitable[Response]]
LOCAL_USER = "local"


def is_loopback(host: str) -> bool:
    if host in ("localhost", "localhost.localdomain"):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def check_bind(host: str, accounts: int) -> None:
    """Refuse a non-loopback address while no curator account exists (exit 2)."""
    if not is_loopback(host) and accounts == 0:
        raise ConfigError(
            f"refusing to listen on {host}: no curator account exists, so the desk "
            "would be open to anyone on the network",
            hint="create one with `watcher users add NAME`, or keep the default 127.0.0.1",
        )


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not token:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def current_user(request: Request) -> str | None:
    """The signed-in curator; with no account at all, the local user on loopback."""
    user = request.session.get("user")
    if user:
        if request.app.state.user_exists(user):
            return user
        request.session.pop("user", None)  # the account was removed: the session ends too
    if not request.app.state.has_accounts() and is_loopback(
        request.client.host if request.client else ""
    ):
        return LOCAL_USER
    return None


def forbidden(message: str) -> HTMLResponse:
    return HTMLResponse(
        f"<!DOCTYPE html><html lang='fr'><meta charset='utf-8'><title>Refusé</title>"
        f"<h1>Requête refusée</h1><p>{message}</p></html>",
        status_code=403,
    )


def login_required(endpoint: Endpoint) -> Endpoint:
    @functools.wraps(endpoint)
    async def wrapped(request: Request) -> Response:
        user = current_user(request)
        if user is None:
            if request.method == "GET":
                return RedirectResponse(f"/connexion?suite={request.url.path}", status_code=303)
            return forbidden("Session expirée : reconnectez-vous.")
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
            return forbidden("Jeton de sécurité (CSRF) absent ou invalide. Rechargez la page.")
        return await endpoint(request)

    wrapped.csrf_protected = True  # type: ignore[attr-defined]
    return wrapped


def post_form(endpoint: Endpoint) -> Endpoint:
    """A curator's POST endpoint: signed in, and with a valid CSRF token."""
    return csrf_protected(login_required(endpoint))


def security_headers(response: Any) -> Any:
    response.headers.setdefault(
        "Content-Security-Policy",
        "default-src 'self'; img-src 'self' data: https:; style-src 'self' 'unsafe-inline'; "
        "frame-ancestors 'self'; form-action 'self'; base-uri 'none'",
    )
    response.headers.setdefault("X-Content-Type-Options", "nosniff")
    response.headers.setdefault("Referrer-Policy", "same-origin")
    return response


class LoginThrottle:
    """At most ``limit`` failed sign-ins per account and per client address within
    ``window_s``; the count is kept in memory (one desk process)."""

    def __init__(self, limit: int = 5, window_s: float = 600.0) -> None:
        self.limit = limit
        self.window_s = window_s
        self._failures: dict[str, list[float]] = {}

    def _recent(self, key: str, now: float) -> list[float]:
        times = [t for t in self._failures.get(key, []) if now - t < self.window_s]
        self._failures[key] = times
        return times

    def blocked(self, keys: list[str], now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        return any(len(self._recent(k, now)) >= self.limit for k in keys)

    def failed(self, keys: list[str], now: float | None = None) -> None:
        now = time.monotonic() if now is None else now
        for key in keys:
            self._recent(key, now).append(now)

    def succeeded(self, keys: list[str]) -> None:
        for key in keys:
            self._failures.pop(key, None)
