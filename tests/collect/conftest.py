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

from tests.shared import make_settings
from watcher.config import parse_sources
from watcher.settings import Settings

DATA = Path(__file__).parent / "data"


@dataclass
class Reply:
    body: bytes = b""
    status: int = 200
    content_type: str = "text/html; charset=utf-8"
    headers: dict[str, str] = field(default_factory=dict)
    etag: bool = False  # answer If-None-Match / If-Modified-Since with 304
    delay: float = 0.0
    declared_length: int | None = None  # announce this length and stream body repeatedly


Route = Reply | Callable[["Handler"], Reply]


class Handler(BaseHTTPRequestHandler):
    server: WebServer

    def log_message(self, *args: Any) -> None:
        pass

    def end_headers(self) -> None:
        # This server closes the connection after each answer (HTTP/1.0) and must say so:
        # Twisted otherwise pools the connection, and a POST sent on it before the close
        # is seen fails with ConnectionDone (only idempotent methods are retried on a
        # fresh connection), which made the POST API test fail now and then.
        self.send_header("Connection", "close")
        super().end_headers()

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
            self.send_header("Content-Length", str(reply.declared_length or len(reply.body)))
            self.end_headers()
            if reply.declared_length:
                sent = 0
                while sent < reply.declared_length:
                    self.wfile.write(reply.body)
                    sent += len(reply.body)
            elif self.command != "HEAD":
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
    """Crawl settings for tests (``tests.shared.FAST_COLLECT``) with ``overrides``."""
    return make_settings(collect=overrides)


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


def tiny_pdf(text: str, title: str = "Appel a projets") -> bytes:
    """A one-page PDF showing ``text`` (ASCII) in Helvetica, written by hand."""
    stream = f"BT /F1 12 Tf 72 720 Td ({text}) Tj ET".encode("latin-1")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] /Contents 4 0 R "
        b"/Resources << /Font << /F1 5 0 R >> >> >>",
        b"<< /Length " + str(len(stream)).encode() + b" >>\nstream\n" + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type1 /BaseFont /Helvetica >>",
        b"<< /Title (" + title.encode("latin-1") + b") >>",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += f"{number} 0 obj\n".encode() + body + b"\nendobj\n"
    xref = len(out)
    out += f"xref\n0 {len(objects) + 1}\n0000000000 65535 f \n".encode()
    for offset in offsets:
        out += f"{offset:010d} 00000 n \n".encode()
    out += (
        f"trailer\n<< /Size {len(objects) + 1} /Root 1 0 R /Info 6 0 R >>\n"
        f"startxref\n{xref}\n%%EOF\n"
    ).encode()
    return bytes(out)


def jorf_archive(texts: list[dict[str, str]], folder: str = "20261127-120000") -> bytes:
    """A small JORF_*.tar.gz in DILA's layout: one TEXTE_VERSION file and its ARTICLE
    files per text (dict keys: id, nature, nor, num, title, date, articles)."""
    import io
    import tarfile

    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as archive:

        def add(path: str, xml: str) -> None:
            data = xml.encode("utf-8")
            info = tarfile.TarInfo(path)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))

        for text in texts:
            tid = text["id"]
            add(
                f"{folder}/jorf/global/texte/version/JORF/TEXT/{tid}.xml",
                f"""<?xml version="1.0" encoding="UTF-8"?>
<TEXTE_VERSION>
  <META>
    <META_COMMUN><ID>{tid}</ID><ANCIEN_ID/><ORIGINE>JORF</ORIGINE>
      <URL>texte/version/JORF/TEXT/{tid}.xml</URL><NATURE>{text["nature"]}</NATURE></META_COMMUN>
    <META_SPEC>
      <META_TEXTE_CHRONICLE><CID>{tid}</CID><NUM>{text.get("num", "")}</NUM>
        <NOR>{text["nor"]}</NOR><DATE_PUBLI>{text["date"]}</DATE_PUBLI>
        <DATE_TEXTE>{text["date"]}</DATE_TEXTE></META_TEXTE_CHRONICLE>
      <META_TEXTE_VERSION><TITRE>{text["title"]}</TITRE>
        <TITREFULL>{text["title"]}</TITREFULL></META_TEXTE_VERSION>
    </META_SPEC>
  </META>
  <VISAS><CONTENU><p>Le Premier ministre,</p><p>Vu le code de l'environnement ;</p></CONTENU></VISAS>
  <SIGNATAIRES><CONTENU><p>Fait le {text["date"]}.</p></CONTENU></SIGNATAIRES>
</TEXTE_VERSION>""",
            )
            for number, article_text in enumerate(text.get("articles", []), start=1):
                aid = f"JORFARTI{tid[-12:-1]}{number}"
                add(
                    f"{folder}/jorf/global/article/JORF/ARTI/{aid}.xml",
                    f"""<?xml version="1.0" encoding="UTF-8"?>
<ARTICLE>
  <META><META_COMMUN><ID>{aid}</ID><NATURE>Article</NATURE></META_COMMUN>
    <META_SPEC><META_ARTICLE><NUM>{number}</NUM></META_ARTICLE></META_SPEC></META>
  <CONTEXTE><TEXTE cid="{tid}" nature="{text["nature"]}"/></CONTEXTE>
  <BLOC_TEXTUEL><CONTENU><p>{article_text}</p></CONTENU></BLOC_TEXTUEL>
</ARTICLE>""",
                )
    return buffer.getvalue()
