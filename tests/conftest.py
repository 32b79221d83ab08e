"""Shared fixtures. Tests never touch the network: servers run on 127.0.0.1."""

from __future__ import annotations

from pathlib import Path

import pytest

from watcher.store import Store

ROOT = Path(__file__).resolve().parent.parent
DATA = Path(__file__).resolve().parent / "data"


@pytest.fixture
def store(tmp_path: Path) -> Store:
    db = Store(tmp_path / "watcher.db")
    yield db
    db.close()
