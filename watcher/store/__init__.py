"""The store: the only module that talks SQL.

SQLite (WAL mode, FTS5) by default, reached through SQLAlchemy Core; the
schema is migrated with Alembic at open, so an older database is upgraded
in place. Area modules (``items``, ``labels``…) hold the queries.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy import Connection, Engine, create_engine, event

from watcher.exceptions import StoreError

DEFAULT_DB_PATH = Path("output/watcher.db")
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def _sqlite_pragmas(dbapi_connection, _record) -> None:  # noqa: ANN001
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=30000")
    cursor.close()


def database_url(db: Path | str | None) -> str:
    """A path (SQLite) or a full SQLAlchemy URL (e.g. postgresql+psycopg://…)."""
    value = str(db or os.environ.get("WATCHER_DB") or DEFAULT_DB_PATH)
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).resolve()}"


def _alembic_config(connection: Connection) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


class Store:
    """An open database, migrated to the current schema."""

    def __init__(self, db: Path | str | None = None, *, migrate: bool = True) -> None:
        self.url = database_url(db)
        if self.url.startswith("sqlite:///"):
            path = Path(self.url.removeprefix("sqlite:///"))
            try:
                path.parent.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise StoreError(
                    f"{path.parent}: cannot create the database folder: {exc}"
                ) from exc
            self.path: Path | None = path
        else:
            self.path = None
        self.engine: Engine = create_engine(self.url, future=True)
        if self.is_sqlite:
            event.listen(self.engine, "connect", _sqlite_pragmas)
        if migrate:
            self.migrate()

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def migrate(self) -> None:
        try:
            with self.engine.begin() as connection:
                current = MigrationContext.configure(connection).get_current_revision()
                config = _alembic_config(connection)
                head = ScriptDirectory.from_config(config).get_current_head()
                if current != head:
                    command.upgrade(config, "head")
        except Exception as exc:
            raise StoreError(
                f"{self.url}: cannot open or migrate the database: {exc}",
                hint="check the path given with --db / WATCHER_DB, and that no other "
                "version of watcher wrote it",
            ) from exc

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One transaction: committed on success, rolled back on any exception."""
        with self.engine.begin() as connection:
            yield connection

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        with self.engine.connect() as connection:
            yield connection

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def open_store(db: Path | str | None = None) -> Store:
    return Store(db)
