"""A real SMTP server for the delivery tests (aiosmtpd on 127.0.0.1, ephemeral port)."""

from __future__ import annotations

import threading
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from email import message_from_bytes, policy
from email.message import EmailMessage
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.desk.builder import WEEK, build_store
from watcher.publish.bulletin import publish_bulletin
from watcher.settings import Settings
from watcher.store import Store


class Recorder:
    """Keeps every accepted message; refuses the addresses in ``refuse``."""

    def __init__(self) -> None:
        self.messages: list[tuple[list[str], bytes]] = []
        self.refuse: set[str] = set()
        self.on_message: Callable[[int], None] | None = None
        self.lock = threading.Lock()

    async def handle_RCPT(self, server, session, envelope, address, rcpt_options):  # noqa: ANN001, N802
        if address in self.refuse:
            return f"550 5.1.1 <{address}>: mailbox unavailable"
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
        with self.lock:
            self.messages.append((list(envelope.rcpt_tos), bytes(envelope.content)))
            count = len(self.messages)
        if self.on_message:
            self.on_message(count)
        return "250 Message accepted for delivery"

    def parsed(self) -> list[EmailMessage]:
        return [message_from_bytes(raw, policy=policy.default) for _, raw in self.messages]

    def by_recipient(self) -> dict[str, list[EmailMessage]]:
        out: dict[str, list[EmailMessage]] = {}
        for rcpts, raw in self.messages:
            for rcpt in rcpts:
                out.setdefault(rcpt, []).append(message_from_bytes(raw, policy=policy.default))
        return out


class EphemeralController(Controller):
    """Controller on port 0: learn the real port before aiosmtpd connects to check it."""

    def _trigger_server(self) -> None:
        self.port = self.server.sockets[0].getsockname()[1]
        super()._trigger_server()


@pytest.fixture
def smtp_server() -> Iterator[tuple[Recorder, int]]:
    recorder = Recorder()
    controller = EphemeralController(recorder, hostname="127.0.0.1", port=0)
    controller.start()
    try:
        yield recorder, controller.port
    finally:
        controller.stop()


def smtp_settings(port: int, tmp_path: Path, **delivery: object) -> Settings:
    values = {
        "smtp_host": "127.0.0.1",
        "smtp_port": port,
        "smtp_security": "none",
        "rate_per_minute": 60_000,
        "smtp_timeout_s": 5.0,
        **delivery,
    }
    return Settings.model_validate(
        {
            "delivery": values,
            "publish": {
                "output_dir": str(tmp_path / "output"),
                "public_url": "https://veille.example.org/",
            },
        }
    )


SUBSCRIBERS = {
    "energie@example.org": ("Élise Énergie", ["energie"]),
    "eau@example.org": ("Eau Animateur", ["eau"]),
    "btp@example.org": ("Bruno BTP", ["btp_materiaux"]),
    "tout@example.org": ("Toute la veille", []),
    "rien@example.org": ("Décarbonation seule", ["decarbonation"]),
}
BEFORE = datetime(2026, 11, 20, tzinfo=UTC)


@pytest.fixture
def published(store: Store) -> tuple[Store, dict[str, int]]:
    """The fixture week with subscribers (created before) and its bulletin published."""
    from watcher.deliver import add_subscriber

    ids = build_store(store)
    for email, (name, themes) in SUBSCRIBERS.items():
        add_subscriber(store, email, name, themes, created_at=BEFORE)
    publish_bulletin(store, WEEK, "marie", Settings())
    return store, ids
