"""Helpers to look at a built site in headless Chromium (tests and bench).

`serve(folder)` serves any site folder (ours from a fixture store, or the demo's)
on 127.0.0.1 with a threaded `http.server` (HTTP/1.0, one connection per file;
with `keep_alive=True` HTTP/1.1, connections kept open, as a static file server
in production); `run_with_chromium(check)` runs a check in a thread of its own.
"""

from __future__ import annotations

import functools
import shutil
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from tests.shared import launch_chromium


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args: Any) -> None:
        pass


class _KeepAliveHandler(_QuietHandler):
    protocol_version = "HTTP/1.1"  # the handler sends Content-Length: connections stay open


class _QuietServer(ThreadingHTTPServer):
    def handle_error(self, request: Any, client_address: Any) -> None:
        pass  # a browser closed before the end of a download: nothing to report


@contextmanager
def serve(folder: Path, sub_path: str = "", keep_alive: bool = False) -> Iterator[str]:
    """Serve `folder` and yield its base URL (ending with '/'). With `sub_path`
    (e.g. "veille/"), the site is served one folder down, as under a sub-path;
    with `keep_alive`, over HTTP/1.1 with persistent connections."""
    root = Path(folder)
    holder: Path | None = None
    if sub_path:
        # A parent folder holding only a link to the site: the site lives at /<sub_path>.
        import tempfile

        holder = Path(tempfile.mkdtemp(prefix="site-holder-"))
        (holder / sub_path.strip("/")).symlink_to(root.resolve(), target_is_directory=True)
        root = holder
    handler = functools.partial(
        _KeepAliveHandler if keep_alive else _QuietHandler, directory=str(root)
    )
    server = _QuietServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/{sub_path}"
    finally:
        server.shutdown()
        server.server_close()
        if holder is not None:  # each run left a folder in /tmp for good
            shutil.rmtree(holder, ignore_errors=True)


def run_with_chromium(check: Callable[[Any], Any]) -> Any:
    """Run `check(browser)` with a fresh headless Chromium in a thread of its own:
    Playwright's sync API refuses a thread where an event loop already runs (another
    area's session-wide Playwright, an ASGI test client…). Errors are re-raised here."""
    from playwright.sync_api import sync_playwright

    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            with sync_playwright() as playwright:
                browser = launch_chromium(playwright)
                try:
                    outcome["value"] = check(browser)
                finally:
                    browser.close()
        except BaseException as exc:  # noqa: BLE001 - handed to the calling thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name="publish-chromium")
    thread.start()
    thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome.get("value")
