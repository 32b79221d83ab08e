"""The store: the only module that talks SQL.

SQLite (WAL mode, FTS5) by default, reached through SQLAlchemy Core; the
schema is migrated with Alembic at open, so an older database is upgraded
in place. Area modules (``items``, ``labels``…) hold the queries.
"""

from __future__ import annotations

import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, text
from sqlalchemy.exc import DBAPIError

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


def _head_revision() -> str:
    """The newest revision, read from the files without importing Alembic.

    Opening the store happens in every crawl child process; Alembic's import
    costs more than the check itself, so it is loaded only to migrate.
    """
    revisions: dict[str, str | None] = {}
    pattern = re.compile(r'^(revision|down_revision)\s*=\s*(?:"([^"]*)"|None)', re.M)
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict((m.group(1), m.group(2)) for m in pattern.finditer(path.read_text("utf-8")))
        if "revision" in found:
            revisions[found["revision"]] = found.get("down_revision")
    parents = {parent for parent in revisions.values() if parent}
    heads = [rev for rev in revisions if rev not in parents]
    if len(heads) != 1:
        raise StoreError(f"{MIGRATIONS_DIR}: expected one head revision, found {sorted(heads)}")
    return heads[0]


def _current_revision(connection: Connection) -> str | None:
    try:
        return connection.execute(text("SELECT version_num FROM alembic_version")).scalar()
    except DBAPIError:
        connection.rollback()
        return None


def _alembic_config(connection: Connection):  # noqa: ANN202 - alembic.config.Config
    from alembic.config import Config

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
            with self.engine.connect() as connection:
                if _current_revision(connection) == _head_revision():
                    return
            from alembic import command

            with self.engine.begin() as connection:
                command.upgrade(_alembic_config(connection), "head")
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
