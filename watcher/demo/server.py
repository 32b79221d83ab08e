"""The demo web's local HTTP server: 127.0.0.1, an ephemeral port by default.

It serves what `watcher.demo.render` builds for the current day, answers
conditional requests (ETag / Last-Modified, so a second collect costs 304s),
serves robots.txt, exchanges the demo API key for a bearer token, and keeps
three sources broken on purpose (a 500, a 404, an HTML page served as a feed).

    with DemoServer() as base_url:
        ...  # base_url is e.g. http://127.0.0.1:43817
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, date
from email.utils import format_datetime, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import parse_qs, urlsplit

from watcher.base.clock import paris_today
from watcher.demo.content import BROKEN
from watcher.demo.render import DEMO_API_KEY, DemoSite, Resource, build_site

API_PATH = "/aides/api/aids/"
TOKEN_PATH = "/aides/api/connexion/"


class _Handler(BaseHTTPRequestHandler):
    server: _DemoHTTPServer
    protocol_version = "HTTP/1.1"
    server_version = "watcher-demo/1.0"

    def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the stdlib's name
        self.server.log.append(f"{self.command} {self.path} " + (args[1] if len(args) > 1 else ""))

    # --- plumbing
    def _send(
        self, status: int, body: bytes, content_type: str, headers: dict[str, str] | None = None
    ) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for name, value in (headers or {}).items():
            self.send_header(name, value)
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(body)

    def _json(self, status: int, data: Any) -> None:
        self._send(status, json.dumps(data, ensure_ascii=False).encode(), "application/json")

    def _resource(self, resource: Resource) -> None:
        headers = {"ETag": resource.etag, "Cache-Control": "no-cache"}
        if resource.modified is not None:
            headers["Last-Modified"] = format_datetime(
                resource.modified.astimezone(UTC), usegmt=True
            )
        if resource.status == 200 and self._not_modified(resource):
            self.send_response(304)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        self._send(resource.status, resource.body, resource.content_type, headers)

    def _not_modified(self, resource: Resource) -> bool:
        match = self.headers.get("If-None-Match")
        if match:
            return match.strip() == "*" or resource.etag in [m.strip() for m in match.split(",")]
        since = self.headers.get("If-Modified-Since")
        if since and resource.modified is not None:
            try:
                return resource.modified.replace(microsecond=0) <= parsedate_to_datetime(since)
            except (TypeError, ValueError):
                return False
        return False

    # --- routes
    def do_HEAD(self) -> None:  # noqa: N802 - the stdlib's name
        self.do_GET()

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        if length:
            self.rfile.read(min(length, 1 << 20))
        path = urlsplit(self.path).path
        if path == TOKEN_PATH:
            self._token()
        else:
            self._json(405, {"detail": "Méthode non autorisée."})

    def do_GET(self) -> None:  # noqa: N802
        parts = urlsplit(self.path)
        site = self.server.site()
        if parts.path == TOKEN_PATH:
            return self._token()
        if parts.path == API_PATH:
            return self._api(site, parse_qs(parts.query))
        for broken in BROKEN:
            if parts.path == broken.path and broken.status != 200:
                message = (
                    "Erreur interne du serveur" if broken.status >= 500 else "Page introuvable"
                )
                return self._send(
                    broken.status, f"<h1>{message}</h1>".encode(), "text/html; charset=utf-8"
                )
        resource = site.resources.get(parts.path)
        if resource is None:
            return self._send(404, b"<h1>Page introuvable</h1>", "text/html; charset=utf-8")
        self._resource(resource)

    def _token(self) -> None:
        if self.headers.get("X-AUTH-TOKEN") != DEMO_API_KEY:
            return self._json(
                401, {"detail": "Clé d'API absente ou invalide (en-tête X-AUTH-TOKEN)."}
            )
        self._json(200, {"token": self.server.site().api_token})

    def _api(self, site: DemoSite, query: dict[str, list[str]]) -> None:
        if self.headers.get("Authorization") != f"Bearer {site.api_token}":
            return self._json(401, {"detail": "Jeton d'authentification absent ou expiré."})
        try:
            page = int((query.get("page") or ["1"])[0])
        except ValueError:
            page = 0
        if not 1 <= page <= len(site.api_pages):
            return self._json(404, {"detail": "Page invalide."})
        self._resource(site.api_pages[page - 1])


class _DemoHTTPServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, address: tuple[str, int], today: date | None) -> None:
        super().__init__(address, _Handler)
        self.fixed_today = today
        self.log: list[str] = []
        self._sites: dict[date, DemoSite] = {}
        self._lock = threading.Lock()
        host, port = self.server_address[:2]
        self.base_url = f"http://{host}:{port}"

    def site(self) -> DemoSite:
        # Built once per day: a server left running past midnight moves with the calendar.
        today = self.fixed_today or paris_today()
        with self._lock:
            if today not in self._sites:
                self._sites = {today: build_site(today, self.base_url)}
            return self._sites[today]


class DemoServer:
    """Serve the demo web in a background thread; a context manager yielding its base URL."""

    def __init__(
        self, host: str = "127.0.0.1", port: int = 0, *, today: date | None = None
    ) -> None:
        self._httpd = _DemoHTTPServer((host, port), today)
        self._thread: threading.Thread | None = None

    @property
    def base_url(self) -> str:
        return self._httpd.base_url

    @property
    def log(self) -> list[str]:
        """One line per request served ("GET /path 200"), for tests and curious users."""
        return self._httpd.log

    def site(self) -> DemoSite:
        return self._httpd.site()

    def start(self) -> str:
        self._httpd.site()  # build before the first request, so errors show here
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, name="watcher-demo-web", daemon=True
        )
        self._thread.start()
        return self.base_url

    def stop(self) -> None:
        if self._thread is not None:
            self._httpd.shutdown()
            self._thread.join(timeout=5)
            self._thread = None
        self._httpd.server_close()

    def __enter__(self) -> str:
        return self.start()

    def __exit__(self, *_exc: object) -> None:
        self.stop()
