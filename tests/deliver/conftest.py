"""The delivery tests' week: subscribers and a published bulletin (mail goes to the
shared ``smtp`` fixture of ``tests/conftest.py``)."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.desk.builder import WEEK, build_store
from tests.shared import make_settings
from watcher.publish.bulletin import publish_bulletin
from watcher.settings import Settings
from watcher.store import Store

APP_URL = "https://veille.example.org/app/"


def smtp_settings(port: int, tmp_path: Path, **delivery: object) -> Settings:
    """The shared builder, with mail to the test's SMTP server, a public site and a
    public web app (the subscription pages at APP_URL + abonnement/)."""
    return make_settings(
        tmp_path,
        smtp_port=port,
        delivery=delivery,
        publish={"public_url": "https://veille.example.org/"},
        desk={"public_url": APP_URL},
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
