"""The store: the only module that talks SQL.

SQLite (WAL mode, FTS5) by default, or PostgreSQL (``postgresql://…``, read
with psycopg 3), reached through SQLAlchemy Core; the schema is migrated with
Alembic at open, so an older database is upgraded in place. Area modules
(``items``, ``labels``…) hold the queries; ``locking`` says how their writes
stay right with several writers.
"""

from __future__ import annotations

import os
import re
import sqlite3
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from pathlib import Path

from sqlalchemy import Connection, Engine, create_engine, event, inspect, make_url, text
from sqlalchemy.exc import ArgumentError, DBAPIError

from watcher import __version__
from watcher.exceptions import ConfigError, StoreError
from watcher.store.read_only import is_read_only_error, read_only_uri, sqlite_writable

DEFAULT_DB_PATH = Path("output/watcher.db")
MIGRATIONS_DIR = Path(__file__).parent / "migrations"


BUSY_TIMEOUT_S = 30.0


def _switch_to_wal(cursor) -> None:  # noqa: ANN001
    """WAL mode, which the file keeps once one connection has set it.

    On a new file opened by several processes at once, the switch can fail with
    "database is locked" at once, without the busy timeout's wait (SQLite will not
    wait for a lock another connection may be waiting to upgrade), so it is retried
    until the busy timeout has passed.
    """
    deadline = time.monotonic() + BUSY_TIMEOUT_S
    pause = 0.005
    while True:
        try:
            if cursor.execute("PRAGMA journal_mode").fetchone()[0].lower() != "wal":
                cursor.execute("PRAGMA journal_mode=WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() + pause > deadline:
                raise
            time.sleep(pause)
            pause = min(pause * 2, 0.25)


def _sqlite_pragmas(dbapi_connection, *, read_only: bool) -> None:  # noqa: ANN001
    cursor = dbapi_connection.cursor()
    # The wait first: switching a new file to WAL needs a lock another process may hold.
    cursor.execute(f"PRAGMA busy_timeout={int(BUSY_TIMEOUT_S * 1000)}")
    if not read_only:  # a read-only file keeps the journal mode it has
        _switch_to_wal(cursor)
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def database_url(db: Path | str | None) -> str:
    """A path (SQLite) or a full SQLAlchemy URL; ``postgresql://`` (libpq's spelling)
    is read with psycopg 3, the driver watcher installs."""
    value = str(db or os.environ.get("WATCHER_DB") or DEFAULT_DB_PATH)
    if ":memory:" in value or value.rstrip("/") == "sqlite:":
        raise ConfigError(
            f"{value}: an in-memory database disappears when the command ends",
            hint="give a file path (SQLite) or a postgresql://… URL with --db / WATCHER_DB",
        )
    if "://" in value:
        scheme, rest = value.split("://", 1)
        if scheme.lower() in ("postgresql", "postgres"):
            return _check_parsable(f"postgresql+psycopg://{rest}", typed=value)
        base = scheme.split("+", 1)[0].lower()
        if base not in ("sqlite", "postgresql"):
            raise ConfigError(
                f"{_shown(value)}: unknown database URL scheme '{base}'",
                hint="give a file path (SQLite) or a postgresql://… URL with --db / WATCHER_DB",
            )
        _check_parsable(value, typed=value)
        return value
    return f"sqlite:///{Path(value).resolve()}"


def _check_parsable(url: str, typed: str) -> str:
    """The URL itself, once SQLAlchemy can read its host and port.

    A typo such as ``postgresql://u:p@[::1`` would otherwise surface as a bare
    ValueError from deep inside the driver.
    """
    try:
        port = make_url(url).port
    except (ArgumentError, ValueError):
        problem = "its host or port cannot be read"
    else:
        if port is None or 0 < port < 65536:
            return url
        problem = f"port {port} is not in 1-65535"
    raise ConfigError(
        f"{_shown(typed)}: not a valid database URL ({problem})",
        hint="give a file path (SQLite) or a postgresql://user@host:port/name URL",
    )


def missing_sqlite_file(db: Path | str | None) -> bool:
    """Whether ``db`` names an SQLite file that does not exist yet: what a command
    may check about the database before opening it would create one."""
    url = database_url(db)
    return url.startswith("sqlite:///") and not Path(url.removeprefix("sqlite:///")).exists()


def _shown(url: str) -> str:
    """The URL as messages show it: without its password."""
    try:
        return make_url(url).render_as_string(hide_password=True)
    except Exception:  # noqa: BLE001 - an unparsable URL has no password to hide
        return re.sub(r"//([^:/@]*):[^@/]*@", r"//\1:***@", url)


def _reason(exc: BaseException) -> str:
    """The first line of a driver's error, without SQLAlchemy's SQL echo and link."""
    original = getattr(exc, "orig", None) or exc
    lines = str(original).strip().splitlines() or [type(original).__name__]
    return lines[0]


def _revisions() -> dict[str, str | None]:
    """Every revision this version knows, with its parent, read from the files
    without importing Alembic.

    Opening the store happens in every crawl child process; Alembic's import
    costs more than the check itself, so it is loaded only to migrate.
    """
    revisions: dict[str, str | None] = {}
    pattern = re.compile(r'^(revision|down_revision)\s*=\s*(?:"([^"]*)"|None)', re.M)
    for path in (MIGRATIONS_DIR / "versions").glob("*.py"):
        found = dict((m.group(1), m.group(2)) for m in pattern.finditer(path.read_text("utf-8")))
        if "revision" in found:
            revisions[found["revision"]] = found.get("down_revision")
    return revisions


def _head_revision() -> str:
    """The newest revision."""
    revisions = _revisions()
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


def _refuse_foreign_schema(connection: Connection, shown: str) -> None:
    """A database with tables but no watcher schema belongs to someone else:
    never add thirty tables to it."""
    tables = [name for name in inspect(connection).get_table_names() if name != "alembic_version"]
    if tables:
        listed = ", ".join(sorted(tables)[:3]) + (", …" if len(tables) > 3 else "")
        raise StoreError(
            f"{shown}: holds tables ({listed}) but no watcher schema; not touching it",
            hint="check --db / WATCHER_DB: it should point at watcher's own database",
        )


def _alembic_config(connection: Connection):  # noqa: ANN202 - alembic.config.Config
    from alembic.config import Config

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    config.attributes["connection"] = connection
    return config


class Store:
    """An open database, migrated to the current schema."""

    def __init__(
        self, db: Path | str | None = None, *, migrate: bool = True, create: bool = True
    ) -> None:
        """Open (and migrate) the database; `create=False` refuses a SQLite file
        that does not exist yet instead of creating it and its folders."""
        self.url = database_url(db)
        self.created = False  # True when this call made a new SQLite file
        # An SQLite file this process may not write: opened read-only, writes refused.
        self.read_only = False
        self.path: Path | None = None
        if self.url.startswith("sqlite:///"):
            self.path = Path(self.url.removeprefix("sqlite:///"))
            self._prepare_sqlite_file(create)
        self.shown = str(self.path) if self.path else _shown(self.url)  # for messages
        try:
            # A server restarted under a long-running desk or scheduler leaves dead
            # connections in the pool: each is tested when taken, not found dead
            # by the next page or job (it was "terminating connection", a 500).
            self.engine: Engine = create_engine(
                self.url, future=True, pool_pre_ping=self.path is None
            )
        except ImportError as exc:
            raise StoreError(
                f"{self.shown}: the database driver is not installed ({exc})",
                hint="install that driver in watcher's environment, or use a SQLite path",
            ) from None
        except Exception as exc:  # noqa: BLE001 - SQLAlchemy's URL and plugin errors
            raise StoreError(f"{self.shown}: not a usable database URL ({_reason(exc)})") from None
        # The connection of an open `transaction()` in this context (thread or task).
        self._unit: ContextVar[Connection | None] = ContextVar(f"unit-{id(self)}", default=None)
        if self.is_sqlite:
            event.listen(self.engine, "connect", self._on_connect)
            if self.read_only:
                event.listen(self.engine, "do_connect", self._open_read_only)
        event.listen(self.engine, "handle_error", self._on_error)
        if migrate:
            self.migrate()

    def _prepare_sqlite_file(self, create: bool) -> None:
        path = self.path
        assert path is not None
        if path.is_dir():
            raise StoreError(f"{path}: is a folder, not a database file")
        if path.exists():
            self.read_only = not sqlite_writable(path)
            return
        if not create:
            raise StoreError(
                f"{path}: no database here",
                hint="check --db / WATCHER_DB; `watcher collect`, `watcher users add` or "
                "`watcher serve` create a new database",
            )
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"{path.parent}: cannot create the database folder ({exc.strerror})"
            ) from None
        if not os.access(path.parent, os.W_OK):
            raise StoreError(f"{path}: cannot create the database, its folder is read-only")
        self.created = True

    def _on_connect(self, dbapi_connection, _record) -> None:  # noqa: ANN001
        _sqlite_pragmas(dbapi_connection, read_only=self.read_only)

    def _open_read_only(self, _dialect, _record, cargs, cparams) -> None:  # noqa: ANN001
        """Open the file through a URI that never writes to it (`read_only_uri`)."""
        assert self.path is not None
        cargs[0] = read_only_uri(self.path)
        cparams["uri"] = True

    def _on_error(self, context) -> None:  # noqa: ANN001 - sqlalchemy ExceptionContext
        # Writes that reach the driver anyway (the file's rights changed while the
        # store was open, a read-only PostgreSQL session): the same clear line.
        if is_read_only_error(context.original_exception):
            raise self.read_only_error() from context.original_exception

    def read_only_error(self) -> StoreError:
        return StoreError(
            f"{self.shown}: the database is read-only, and this command writes to it",
            hint="run it as a user who may write the database file and its folder",
        )

    @property
    def is_sqlite(self) -> bool:
        return self.engine.dialect.name == "sqlite"

    def migrate(self) -> None:
        try:
            with self.engine.connect() as connection:
                current = _current_revision(connection)
                head = _head_revision()
                if current == head:
                    return
                if current is None:
                    _refuse_foreign_schema(connection, self.shown)
                elif current not in _revisions():
                    # Alembic would only say it "can't locate revision": the operator
                    # must learn which version to run, and never to downgrade blindly.
                    raise StoreError(
                        f"{self.shown}: its schema is at revision {current}, which this "
                        f"version of watcher ({__version__}, schema {head}) does not know: "
                        "a newer version of watcher wrote it",
                        hint="run the newer version of watcher that wrote this database "
                        "(or restore a backup made by this version); nothing was changed",
                    )
            if self.read_only:
                raise StoreError(
                    f"{self.shown}: the database is read-only, and this version of watcher "
                    "must first create or upgrade its tables",
                    hint="run any command once as a user who may write the database file "
                    "and its folder",
                )
            from alembic import command

            from watcher.store.locking import lock_key

            # Processes starting at once on a new database: one migrates, the others
            # wait for it and find the work done (an upgrade from head does nothing).
            with self.begin() as connection:
                lock_key(connection, "watcher", "migrate")
                command.upgrade(_alembic_config(connection), "head")
        except StoreError:
            raise
        except Exception as exc:
            raise StoreError(
                f"{self.shown}: cannot open or migrate the database: {_reason(exc)}",
                hint="check the path given with --db / WATCHER_DB, and that no other "
                "version of watcher wrote it",
            ) from exc

    @contextmanager
    def begin(self) -> Iterator[Connection]:
        """One write transaction: committed on success, rolled back on any exception.

        On SQLite it takes the write lock at once (``BEGIN IMMEDIATE``): its reads
        and writes see no other writer in between. On PostgreSQL writers run side
        by side; ``watcher.store.locking`` says how each write stays right. Inside
        `transaction()`, the enclosing transaction (committed when it ends).
        """
        unit = self._unit.get()
        if unit is not None:
            yield unit
            return
        if self.read_only:  # before the command does any work that needs the write
            raise self.read_only_error()
        with self.engine.begin() as connection:
            if self.is_sqlite:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            yield connection

    @contextmanager
    def connect(self) -> Iterator[Connection]:
        unit = self._unit.get()
        if unit is not None:
            yield unit  # reads inside a transaction see its own writes
            return
        with self.engine.connect() as connection:
            yield connection

    @contextmanager
    def transaction(self) -> Iterator[Connection]:
        """Several area functions as one unit: every `begin()`/`connect()` of this
        context joins one transaction, committed at the end or rolled back whole
        (a form's changes are saved all together or not at all)."""
        if self._unit.get() is not None:
            yield self._unit.get()  # nested: the outer one decides
            return
        if self.read_only:
            raise self.read_only_error()
        with self.engine.begin() as connection:
            if self.is_sqlite:
                connection.exec_driver_sql("BEGIN IMMEDIATE")
            token = self._unit.set(connection)
            try:
                yield connection
            finally:
                self._unit.reset(token)

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
