"""Fixtures of the demo tests: the demo web served on 127.0.0.1 for a fixed day."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date

import pytest

from watcher.demo.server import DemoServer

TODAY = date(2026, 11, 26)  # a Thursday; the demo's dates are offsets from it


@pytest.fixture(scope="module")
def demo() -> Iterator[DemoServer]:
    server = DemoServer(today=TODAY)
    server.start()
    yield server
    server.stop()
