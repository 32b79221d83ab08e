"""SIGTERM to a real `watcher schedule` in the middle of a real crawl: a clean stop."""

from __future__ import annotations

import contextlib
import os
import signal
import sqlite3
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import psutil
import pytest

from tests.shared import wait_for

FEED = (
    '<?xml version="1.0" encoding="utf-8"?><rss version="2.0"><channel><title>Quick</title>'
    "<link>http://127.0.0.1/</link><description>d</description>"
    + "".join(
        f"<item><title>Appel à projets économie circulaire n° {i}</title>"
        f"<link>http://127.0.0.1:PORT/a{i}</link><description>Texte {i}.</description>"
        "<pubDate>Thu, 26 Nov 2026 10:00:00 +0000</pubDate></item>"
        for i in range(3)
    )
    + "</channel></rss>"
)
PAGE = b"<html><body><article><p>Un appel pour l'economie circulaire.</p></article></body></html>"


class _Handler(BaseHTTPRequestHandler):
    def log_message(self, *args) -> None:  # noqa: ANN002
        self.server.paths.append(self.path)

    def do_GET(self) -> None:  # noqa: N802
        if self.path.startswith("/slow"):
            self.server.slow_started.set()
            self.server.release.wait(30)  # a source that hangs the crawl
        is_feed = self.path.endswith(".xml")
        body = FEED.replace("PORT", str(self.server.server_port)).encode() if is_feed else PAGE
        self.send_response(200)
        self.send_header("Content-Type", "application/rss+xml" if is_feed else "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)


@pytest.fixture
def web():  # noqa: ANN201
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
    server.paths, server.slow_started, server.release = [], threading.Event(), threading.Event()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.release.set()
    server.shutdown()


def _recorded_ok(db: Path, source_id: str) -> bool:
    try:
        # read-only: never create the file the scheduler is about to
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=1)) as con:
            query = "SELECT status FROM source_runs WHERE source_id = ?"
            return con.execute(query, (source_id,)).fetchall() == [("ok",)]
    except sqlite3.OperationalError:  # busy, or not created yet
        return False


def _start_schedule(folder: Path, log: Path, schedule_extra: str = "") -> subprocess.Popen:
    """A real `watcher schedule` on the install in ``folder`` (its sources.yaml written
    by the caller), logging to ``log``."""
    (folder / "watcher.toml").write_text(
        f'[schedule]\nlog_file = "{log}"\n{schedule_extra}', encoding="utf-8"
    )
    env = {
        **os.environ,
        "WATCHER_DB": str(folder / "watcher.db"),
        "WATCHER_SOURCES": str(folder / "sources.yaml"),
        "WATCHER_SETTINGS": str(folder / "watcher.toml"),
    }
    return subprocess.Popen(
        [sys.executable, "-m", "watcher", "schedule"],
        cwd=folder,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def test_sigterm_during_a_crawl_leaves_the_store_consistent(tmp_path: Path, web):
    port = web.server_port
    (tmp_path / "sources.yaml").write_text(
        "sources:\n"
        f'  - {{id: quick, name: Quick, kind: rss, url: "http://127.0.0.1:{port}/feed.xml"}}\n'
        f'  - {{id: slow, name: Slow, kind: rss, url: "http://127.0.0.1:{port}/slow.xml"}}\n',
        encoding="utf-8",
    )
    log = tmp_path / "watcher.log"
    db = tmp_path / "watcher.db"
    proc = _start_schedule(tmp_path, log, "crawl_kill_grace_s = 3\n")
    try:
        # The fresh install collects at once; wait until the crawl is stuck on the slow source
        # after the quick one's items were saved.
        assert wait_for(web.slow_started.is_set, 60), log.read_text() if log.exists() else "no log"
        # The quick source ended (its items saved, its run recorded): waited for in the
        # database, not for a fixed second that a busy machine's crawl may overrun.
        assert wait_for(lambda: _recorded_ok(db, "quick"), 60)
        descendants = psutil.Process(proc.pid).children(recursive=True)
        assert descendants, "the crawl runs in child processes"
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    text = log.read_text()
    assert "event=signal signal=SIGTERM" in text and "event=scheduler_stopped" in text
    # No crawl process is left behind.
    assert wait_for(
        lambda: not any(p.is_running() and p.status() != "zombie" for p in descendants), 10
    )

    con = sqlite3.connect(db)
    assert con.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    assert con.execute("SELECT status FROM crawl_runs").fetchall() == [("interrupted",)]
    assert con.execute("SELECT outcome FROM job_runs WHERE job_id='collect'").fetchall() == [
        ("interrupted",)
    ]
    # What was saved is whole: the quick source's items, with their titles.
    titles = [row[0] for row in con.execute("SELECT title FROM items ORDER BY title")]
    assert len(titles) == 3 and all(t.startswith("Appel à projets") for t in titles)
    statuses = dict(con.execute("SELECT source_id, status FROM source_runs"))
    assert statuses.get("quick") == "ok" and statuses.get("slow") != "ok"


def test_sighup_is_logged_and_ignored_not_the_end_of_the_watch(tmp_path: Path):
    """SIGHUP (a logrotate script, `kill -HUP` meant as "reload") ended the scheduler on
    the spot, mid-send or mid-crawl, without a line; systemd does not restart a service
    a SIGHUP ended, so the watch stayed down."""
    (tmp_path / "sources.yaml").write_text("sources: []\n", encoding="utf-8")
    log = tmp_path / "watcher.log"
    proc = _start_schedule(tmp_path, log)

    def logged(text: str) -> bool:
        return log.exists() and text in log.read_text()

    try:
        assert wait_for(lambda: logged("event=scheduler_start"), 60)
        proc.send_signal(signal.SIGHUP)
        assert wait_for(lambda: logged("signal=SIGHUP") or proc.poll() is not None, 60)
        assert proc.poll() is None, f"ended by SIGHUP (status {proc.returncode})"
        assert "restart to apply them" in log.read_text()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=60) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
    assert logged("event=scheduler_stopped")
