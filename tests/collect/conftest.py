"""A local web for the collect tests: a threaded HTTP server on 127.0.0.1 whose
routes a test sets, plus helpers to write a sources file and run a collect."""

from __future__ import annotations

import email.utils
import hashlib
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from watcher.config import parse_sources
from watcher.settings import CollectSettings, Settings

DATA = Path(__file__).parent / "data"


@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = False  # answer If-None-Match / If-Modified-Since with 304
    delay: float = 0.0


Route = Reply | Callable[["Handler"], Reply]


class Handler(BaseHTTPRequestHandler):
    server: WebServer

    def log_message(self, *args: Any) -> None:
        pass

    def do_GET(self) -> None:  # noqa: N802
        self._serve()

    def do_POST(self) -> None:  # noqa: N802
        length = int(self.headers.get("Content-Length") or 0)
        self.body = self.rfile.read(length) if length else b""
        self._serve()

    def _serve(self) -> None:
        self.server.log.append((self.command, self.path, dict(self.headers)))
        path = self.path
        route = self.server.routes.get(path) or self.server.routes.get(path.split("?")[0])
        if route is None:
            reply = Reply(b"<html><body>not found</body></html>", status=404)
        elif callable(route):
            reply = route(self)
        else:
            reply = route
        if reply.delay:
            time.sleep(reply.delay)
        headers = dict(reply.headers)
        if reply.etag and reply.status == 200:
            tag = '"' + hashlib.sha1(reply.body).hexdigest()[:16] + '"'
            modified = email.utils.formatdate(1_700_000_000, usegmt=True)
            headers["ETag"] = tag
            headers["Last-Modified"] = modified
            if self.headers.get("If-None-Match") == tag:
                self.send_response(304)
                self.send_header("ETag", tag)
                self.end_headers()
                return
        try:
            self.send_response(reply.status)
            if reply.content_type:
                self.send_header("Content-Type", reply.content_type)
            for name, value in headers.items():
                self.send_header(name, value)
            self.send_header("Content-Length", str(len(reply.body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(reply.body)
        except (BrokenPipeError, ConnectionResetError):
            pass


class WebServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str = "127.0.0.1") -> None:
        super().__init__((host, 0), Handler)
        self.routes: dict[str, Route] = {
            "/robots.txt": Reply(b"User-agent: *\nAllow: /\n", content_type="text/plain")
        }
        self.log: list[tuple[str, str, dict[str, str]]] = []

    @property
    def base(self) -> str:
        host, port = self.server_address[:2]
        return f"http://{host}:{port}"

    def url(self, path: str) -> str:
        return self.base + path

    def requests_to(self, path: str) -> list[dict[str, str]]:
        return [headers for _method, p, headers in self.log if p == path]


@pytest.fixture
def web() -> WebServer:
    server = WebServer()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def fast_settings(**overrides: Any) -> Settings:
    """Crawl settings for tests: short timeouts, no politeness delays."""
    values = {
        "download_timeout_s": 3.0,
        "download_delay_s": 0.0,
        "autothrottle": False,
        "retry_times": 1,
        "retry_backoff_s": 0.0,
        "crawl_time_limit_s": 60,
        **overrides,
    }
    return Settings(collect=CollectSettings(**values))


def sources_from(yaml_text: str):  # noqa: ANN201
    return parse_sources(yaml_text, "test-sources.yaml")


def rss(entries: list[tuple[str, str, str]], *, title: str = "Flux de test") -> bytes:
    """An RSS 2.0 feed of (link, title, description) entries."""
    items = "".join(
        f"<item><title>{t}</title><link>{link}</link><description>{d}</description>"
        f"<pubDate>Mon, 23 Nov 2026 10:00:00 +0100</pubDate></item>"
        for link, t, d in entries
    )
    return (
        '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel>'
        f"<title>{title}</title><link>http://example.org/</link><description>d</description>"
        f"{items}</channel></rss>"
    ).encode()


WORDS = [
    "la",
    "région",
    "grand",
    "est",
    "soutient",
    "les",
    "démarches",
    "d",
    "écologie",
    "industrielle",
    "et",
    "territoriale",
    "les",
    "entreprises",
    "mutualisent",
    "leurs",
    "flux",
    "de",
    "matières",
    "d",
    "énergie",
    "et",
    "d",
    "eau",
    "pour",
    "réduire",
    "leurs",
    "déchets",
    "et",
    "leurs",
    "coûts",
    "la",
    "chaleur",
    "fatale",
    "d",
    "un",
    "site",
    "alimente",
    "le",
    "réseau",
    "voisin",
]


def article(title: str, seed: int, words: int = 300) -> bytes:
    """An article page of about ``words`` words, different for each seed."""
    import random

    rng = random.Random(seed)
    paragraphs = "".join(
        "<p>" + " ".join(rng.choice(WORDS) for _ in range(60)) + ".</p>" for _ in range(words // 60)
    )
    return (
        f"<html lang='fr'><head><meta charset='utf-8'><title>{title}</title></head><body>"
        f"<nav><a href='/'>Accueil</a></nav><article><h1>{title}</h1>{paragraphs}</article>"
        "<footer>Mentions légales</footer></body></html>"
    ).encode()
