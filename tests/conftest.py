"""Shared fixtures. Tests never touch the network: servers run on 127.0.0.1.

The helpers behind them (settings builder, SMTP server, Chromium) are in
``tests/shared.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.shared import SmtpInbox, smtp_server
from watcher.store import Store


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite tests/golden/ from the current output (then review `git diff`)",
    )


@pytest.fixture
def store(tmp_path: Path) -> Store:
    db = Store(tmp_path / "watcher.db")
    yield db
    db.close()


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpInbox, int]]:
    """A local SMTP server: (inbox, port)."""
    with smtp_server() as server:
        yield server
