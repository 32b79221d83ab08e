"""Shared fixtures. Tests never touch the network: servers run on 127.0.0.1.

Every test that uses the ``store`` fixture runs twice: on SQLite and on
PostgreSQL. The PostgreSQL run uses one throwaway cluster per session (started
with initdb/pg_ctl in a temporary folder, Unix socket only) and one database
per test, copied from a migrated template. ``--engines sqlite`` (or
``postgresql``) runs one engine only; ``@pytest.mark.sqlite_only`` marks a test
about an SQLite-only feature (its file, its online backup).

The helpers behind the other fixtures (settings builder, SMTP server,
Chromium) are in ``tests/shared.py``.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from tests.shared import SmtpInbox, smtp_server
from watcher.store import Store

ENGINES = ("sqlite", "postgresql")
TEMPLATE = "watcher_template"


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption(
        "--update-goldens",
        action="store_true",
        help="rewrite tests/golden/ from the current output (then review `git diff`)",
    )
    parser.addoption(
        "--engines",
        default=",".join(ENGINES),
        help="comma-separated database engines the store tests run on (sqlite,postgresql)",
    )


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "sqlite_only: a test of an SQLite-only feature")
    engines = [e.strip() for e in config.getoption("--engines").split(",") if e.strip()]
    unknown = set(engines) - set(ENGINES)
    if unknown or not engines:
        raise pytest.UsageError(f"--engines: expected some of {', '.join(ENGINES)}")
    config.watcher_engines = engines  # type: ignore[attr-defined]


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    engines = list(metafunc.config.watcher_engines)  # type: ignore[attr-defined]
    if metafunc.definition.get_closest_marker("sqlite_only"):
        engines = ["sqlite"]
    if "db_engine" in metafunc.fixturenames:
        metafunc.parametrize("db_engine", engines, indirect=True)
    if "session_engine" in metafunc.fixturenames:  # a store shared by the session's tests
        metafunc.parametrize("session_engine", engines, indirect=True, scope="session")


class PostgresDatabases:
    """The session's cluster: a migrated template and one copy of it per test."""

    def __init__(self) -> None:
        from watcher.store.pg_cluster import TempCluster

        self.cluster = TempCluster().start()
        self.counter = itertools.count(1)
        template = Store(self.cluster.create_database(TEMPLATE))
        template.close()  # a template must have no open connection when copied

    def new(self) -> tuple[str, str]:
        name = f"test_{next(self.counter)}"
        return name, self.cluster.create_database(name, template=TEMPLATE)

    def drop(self, name: str) -> None:
        self.cluster.drop_database(name)

    def stop(self) -> None:
        self.cluster.stop()


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresDatabases]:
    from watcher.store.pg_cluster import find_bindir

    if find_bindir() is None:
        pytest.skip(
            "PostgreSQL tests skipped: no PostgreSQL server binaries (initdb, pg_ctl) on this "
            "machine; `make system-deps` installs the Debian package postgresql"
        )
    databases = PostgresDatabases()
    yield databases
    databases.stop()


@pytest.fixture
def db_engine(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@pytest.fixture(scope="session")
def session_engine(request: pytest.FixtureRequest) -> str:
    return getattr(request, "param", "sqlite")


@contextmanager
def new_database(engine: str, folder: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database of the engine: an SQLite path in ``folder``, or a PostgreSQL URL."""
    if engine == "sqlite":
        yield str(folder / "watcher.db")
        return
    databases: PostgresDatabases = request.getfixturevalue("postgres")
    name, url = databases.new()
    try:
        yield url
    finally:
        databases.drop(name)


@pytest.fixture
def db_url(db_engine: str, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[str]:
    """A fresh database of the test's engine: an SQLite path or a PostgreSQL URL."""
    with new_database(db_engine, tmp_path, request) as url:
        yield url


@pytest.fixture
def store(db_url: str) -> Iterator[Store]:
    db = Store(db_url)
    yield db
    db.close()


@pytest.fixture
def smtp() -> Iterator[tuple[SmtpInbox, int]]:
    """A local SMTP server: (inbox, port)."""
    with smtp_server() as server:
        yield server
