"""What every test folder shares: one settings builder, one local SMTP server,
one way to start Chromium. Fixtures built on them are in ``tests/conftest.py``.
"""

from __future__ import annotations

import asyncio
import errno
import io
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from aiosmtpd.controller import Controller

from watcher.settings import Settings

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


# -- settings ------------------------------------------------------------------------

# A crawl that does not wait: local servers, no politeness delays, short timeouts.
FAST_COLLECT: dict[str, Any] = {
    "download_timeout_s": 3.0,
    "download_delay_s": 0.0,
    "autothrottle": False,
    "retry_times": 1,
    "retry_backoff_s": 0.0,
    "crawl_time_limit_s": 60,
}


def make_settings(
    root: Path | None = None, *, smtp_port: int = 1, **sections: dict[str, Any]
) -> Settings:
    """Settings for a test: every file under ``root``, a fast crawl, mail in clear
    to 127.0.0.1:``smtp_port`` (1: nothing listens). ``sections`` override keys,
    e.g. ``make_settings(tmp_path, publish={"public_url": "https://x/"})``.
    Without ``root`` (tests that write no file) the paths keep their defaults."""
    if root is None:
        data: dict[str, dict[str, Any]] = {"collect": dict(FAST_COLLECT)}
        for name, values in sections.items():
            data.setdefault(name, {}).update(values)
        return Settings.model_validate(data)
    root = Path(root)
    data = {
        "collect": dict(FAST_COLLECT),
        "classify": {"model_dir": root / "model"},
        "publish": {"output_dir": root / "output", "site_dir": root / "output" / "site"},
        "delivery": {
            "smtp_host": "127.0.0.1",
            "smtp_port": smtp_port,
            "smtp_security": "none",
            "rate_per_minute": 60_000,
            "smtp_timeout_s": 5.0,
        },
        "schedule": {
            "log_file": root / "logs" / "watcher.log",
            "backup_dir": root / "backups",
            "team_email": "equipe@example.org",
        },
    }
    for name, values in sections.items():
        data.setdefault(name, {}).update(values)
    return Settings.model_validate(data)


# -- SMTP ----------------------------------------------------------------------------


class SmtpInbox:
    """An aiosmtpd handler keeping every accepted message; refuses the
    addresses in ``refuse``; ``on_message(count)`` is called after each.
    ``after_data`` misbehaves once a message for a given recipient is stored:
    ``{"a@x.org": "drop"}`` closes the connection instead of answering 250,
    ``{"a@x.org": 2.0}`` answers only after 2 seconds, ``{"a@x.org": event}`` (a
    ``threading.Event``) only once the test sets it. ``at_rcpt`` misbehaves at
    a recipient's RCPT, before anything of its message is written:
    ``{"a@x.org": "drop"}`` closes the connection without answering,
    ``{"a@x.org": "421"}`` answers 421 (the server is closing the session),
    ``{"a@x.org": "451"}`` refuses it for now (a full mailbox)."""

    def __init__(self) -> None:
        self.raw: list[bytes] = []
        self.messages: list[EmailMessage] = []
        self.envelopes: list[tuple[str, list[str]]] = []  # (MAIL FROM, RCPT TOs)
        self.refuse: set[str] = set()
        self.on_message: Callable[[int], None] | None = None
        self.after_data: dict[str, str | float | threading.Event] = {}
        self.at_rcpt: dict[str, str] = {}
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, ANN201, N802
        behaviour = self.at_rcpt.get(address)
        if behaviour == "drop":
            server.transport.close()
            return "250 OK"  # never reaches the client
        if behaviour == "421":
            return "421 4.7.0 closing"
        if behaviour == "451":
            return f"451 4.2.2 <{address}>: mailbox full"
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, ANN201, N802
        with self.lock:
            self.raw.append(bytes(envelope.content))
            self.messages.append(message_from_bytes(envelope.content, policy=policy.default))
            self.envelopes.append((envelope.mail_from, list(envelope.rcpt_tos)))
            count = len(self.messages)
        if self.on_message:
            self.on_message(count)
        for rcpt in envelope.rcpt_tos:
            behaviour = self.after_data.get(rcpt)
            if behaviour == "drop":
                server.transport.close()
                return "421 closing"  # never reaches the client
            if isinstance(behaviour, float):
                await asyncio.sleep(behaviour)
            if isinstance(behaviour, threading.Event):
                await asyncio.to_thread(behaviour.wait, 120)
        return "250 Message accepted for delivery"

    def by_recipient(self) -> dict[str, list[EmailMessage]]:
        out: dict[str, list[EmailMessage]] = {}
        for (_sender, rcpts), message in zip(self.envelopes, self.messages, strict=True):
            for rcpt in rcpts:
                out.setdefault(rcpt, []).append(message)
        return out


class _EphemeralController(Controller):
    """aiosmtpd on port 0: learn the port the OS gave before aiosmtpd checks it."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@contextmanager
def smtp_server(**options: Any) -> Iterator[tuple[SmtpInbox, int]]:
    """A real SMTP server on 127.0.0.1 (ephemeral port): (inbox, port). ``options``
    go to aiosmtpd (``authenticator``, ``tls_context``, ``ssl_context``…)."""
    inbox = SmtpInbox()
    controller = _EphemeralController(inbox, hostname="127.0.0.1", port=0, **options)
    controller.start()
    try:
        yield inbox, controller.port
    finally:
        controller.stop()


# -- Chromium ------------------------------------------------------------------------

CHROMIUM = "/usr/bin/chromium"  # Debian's: Playwright's own download does not work here
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def launch_chromium(playwright: Any) -> Any:
    """Headless Chromium from a Playwright (sync) instance."""
    return playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)


def wait_for(predicate: Callable[[], bool], timeout: float, step: float = 0.05) -> bool:
    """Poll ``predicate`` until it holds or ``timeout`` seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(step)
    return bool(predicate())


# -- a full disk ---------------------------------------------------------------------


class _FillingFile:
    """A file being written on a disk that fills up: the first write keeps half
    its data, then it and every later write raise ENOSPC (with no file name, as
    the kernel gives it)."""

    def __init__(self, handle: Any) -> None:
        self._handle = handle

    def write(self, data: Any) -> int:
        self._handle.write(data[: len(data) // 2])
        self._handle.flush()
        raise OSError(errno.ENOSPC, "No space left on device")

    def __getattr__(self, name: str) -> Any:
        return getattr(self._handle, name)

    def __enter__(self) -> _FillingFile:
        return self

    def __exit__(self, *_exc: object) -> None:
        self._handle.close()


def fill_disk(monkeypatch: Any, suffix: str) -> None:
    """Files opened for writing whose name (or, for a temporary file written
    beside it, whose name's start) holds `suffix` fail as on a full disk:
    through ``open``/``Path.open`` and ``os.fdopen`` (the atomic writers)."""
    real_open, real_fdopen = io.open, os.fdopen

    def writing(mode: str) -> bool:
        return any(flag in mode for flag in "wax+")

    def fake_open(file: Any, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_open(file, mode, *args, **kwargs)
        hit = isinstance(file, str | os.PathLike) and suffix in os.fspath(file)
        return _FillingFile(handle) if hit and writing(mode) else handle

    def fake_fdopen(fd: int, mode: str = "r", *args: Any, **kwargs: Any) -> Any:
        handle = real_fdopen(fd, mode, *args, **kwargs)
        name = os.readlink(f"/proc/self/fd/{fd}")
        return _FillingFile(handle) if suffix in name and writing(mode) else handle

    monkeypatch.setattr(io, "open", fake_open)
    monkeypatch.setattr(os, "fdopen", fake_fdopen)
