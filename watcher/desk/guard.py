"""The desk's outer defences, applied to every route (curators' and public ones):

- ``RequestCheck``: the ``Host`` header must be one of the desk's names, so a page
  on another origin that rebinds its name to 127.0.0.1 (DNS rebinding) gets 400.
  Starlette's TrustedHostMiddleware splits ``[::1]:8765`` at the first colon,
  so the check is written here, IPv6-aware and case-insensitive. A path with a
  NUL or control character (``/static/desk.js%00.css``) is a 404, not a
  ValueError deep in a file lookup.
- ``BodyLimit``: a body larger than the cap gets 413 before it is read (by its
  ``Content-Length``, or as soon as a chunked body passes the cap), so a 200 MB
  form cannot grow the server's memory. ``page(scope, 413, cap)`` may give the page
  to answer with (the readers' own under ``/abonnement``, the desk's elsewhere);
  else a French line.
- ``SecurityHeaders``: CSP, ``X-Content-Type-Options: nosniff``, Referrer-Policy
  and frame-ancestors on every response (pages, redirects, static files, errors).

``allowed_hosts(settings, bind_host)`` and ``client_address(scope, proxies)``
say which names the desk answers to and who the client is.
"""

from __future__ import annotations

import ipaddress
import re
from collections.abc import Callable, Iterable
from typing import Any
from urllib.parse import urlsplit

from starlette.datastructures import Headers
from starlette.responses import Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from watcher.settings import Settings

# A Content-Length the desk reads: longer than this is past any cap anyway.
_LENGTH = re.compile(r"[0-9]{1,18}")

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")

# The desk's pages: scripts and styles only from files it serves itself.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "frame-src 'self'; frame-ancestors 'self'; form-action 'self'; base-uri 'none'; "
    "object-src 'none'"
)


def _host_name(value: str) -> str:
    """``Example.org:8765`` -> ``example.org``; ``[::1]:8765`` -> ``::1``."""
    value = value.strip().lower()
    if value.startswith("["):
        return value[1 : value.find("]")] if "]" in value else ""
    return value.rsplit(":", 1)[0] if value.count(":") == 1 else value


def allowed_hosts(settings: Settings, bind_host: str | None = None) -> set[str]:
    """Loopback names, ``desk.allowed_hosts``, the host of ``desk.public_url`` (where
    readers reach the subscription pages the e-mails link to) and the address it
    listens on (unless it is a wildcard)."""
    names = set(LOOPBACK_NAMES)
    names |= {_host_name(h) for h in settings.desk.allowed_hosts}
    if settings.desk.public_url:
        names.add((urlsplit(settings.desk.public_url).hostname or "").lower())
    if bind_host and bind_host not in ("0.0.0.0", "::", ""):
        names.add(_host_name(bind_host))
    return {n for n in names if n}


class RequestCheck:
    def __init__(self, app: ASGIApp, hosts: Iterable[str]) -> None:
        self.app = app
        self.hosts = {h.lower() for h in hosts}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket"):
            host = _host_name(Headers(scope=scope).get("host", ""))
            if host not in self.hosts:
                await _plain(send, 400, "Nom d’hôte non reconnu par le bureau de veille.")
                return
            if any(ord(c) < 32 or ord(c) == 127 for c in scope.get("path", "")):
                await _plain(send, 404, "Page introuvable.")
                return
        await self.app(scope, receive, send)


class BodyTooLarge(Exception):
    pass


class BodyLimit:
    """At most ``form_bytes`` for a form, ``upload_bytes`` for a multipart upload."""

    def __init__(
        self,
        app: ASGIApp,
        form_bytes: int,
        upload_bytes: int,
        page: Callable[[Scope, int, int], Response | None] | None = None,
    ) -> None:
        self.app = app
        self.form_bytes = form_bytes
        self.upload_bytes = upload_bytes
        self.page = page

    async def _refuse(self, scope: Scope, receive: Receive, send: Send, cap: int) -> None:
        response = self.page(scope, 413, cap) if self.page else None
        if response is None:
            await _too_large(send, cap)
            return
        # The rest of the body is never read: the connection cannot serve another request.
        response.headers["connection"] = "close"
        await response(scope, receive, send)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        headers = Headers(scope=scope)
        multipart = headers.get("content-type", "").startswith("multipart/")
        cap = self.upload_bytes if multipart else self.form_bytes
        declared = headers.get("content-length")
        # ASCII digits, a bounded count: str.isdigit() takes '²' (int() then
        # fails) and int() refuses more than 4300 digits; both were a 500.
        if declared is not None and (not _LENGTH.fullmatch(declared) or int(declared) > cap):
            await self._refuse(scope, receive, send, cap)
            return
        seen = 0
        started = False

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > cap:
                    raise BodyTooLarge
            return message

        async def watched(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, counted, watched)
        except BodyTooLarge:
            if not started:
                await self._refuse(scope, receive, send, cap)


HEADERS = (
    ("content-security-policy", CSP),
    ("x-content-type-options", "nosniff"),
    ("referrer-policy", "same-origin"),
    ("x-frame-options", "SAMEORIGIN"),
)


class SecurityHeaders:
    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {k.lower() for k, _v in message.get("headers", [])}
                extra = [(k.encode(), v.encode()) for k, v in HEADERS]
                message["headers"] = [
                    *message.get("headers", []),
                    *[(k, v) for k, v in extra if k not in present],
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


async def _plain(send: Send, status: int, text: str, extra: list | None = None) -> None:
    body = text.encode("utf-8")
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", b"text/plain; charset=utf-8"),
                (b"content-length", str(len(body)).encode()),
                (b"connection", b"close"),
                *(extra or []),
            ],
        }
    )
    await send({"type": "http.response.body", "body": body})


async def _too_large(send: Send, cap: int) -> None:
    await _plain(send, 413, f"Requête trop volumineuse (au plus {cap // 1024} Kio).")


def _parse_networks(values: Iterable[str]) -> list[Any]:
    return [ipaddress.ip_network(v.strip(), strict=False) for v in values if v.strip()]


def _in(address: str, networks: list[Any]) -> bool:
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return False
    return any(ip in net for net in networks)


def client_address(scope: Scope, trusted_proxies: Iterable[str] = ()) -> str:
    """The client's address: the peer's, or, when the peer is a configured proxy,
    the last address of ``X-Forwarded-For`` that is not itself a proxy. Never
    read from the header otherwise (anyone can send one)."""
    peer = (scope.get("client") or ("", 0))[0] or ""
    networks = _parse_networks(trusted_proxies)
    if not networks or not _in(peer, networks):
        return peer
    forwarded = Headers(scope=scope).get("x-forwarded-for", "")
    hops = [h.strip() for h in forwarded.split(",") if h.strip()]
    for hop in reversed(hops):
        if not _in(hop, networks):
            return hop
    return peer
