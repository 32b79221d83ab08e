"""Desk tables: curators' accounts and sessions, the desk's secret, and the decisions log.

User names are compared case-insensitively (``Marie`` signs in as ``marie``; no
two accounts differ only in case: a unique index on ``lower(username)``).
A session is a row of ``desk_sessions`` keyed by the SHA-256 of the random
token kept in the signed cookie: signing out, a new password or a removed
account deletes the rows, so a copied cookie stops working at once.

A decision is one change a curator made (who, when, week, item, field, value
before, value after). Undo re-applies ``before`` through the same code path
and records the undo itself as a decision, so the log never loses history.
"""

from __future__ import annotations

import hashlib
import re
import secrets
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    func,
    insert,
    select,
    text,
    update,
)
from sqlalchemy.exc import IntegrityError

from watcher.base.clock import utcnow
from watcher.exceptions import WatcherError
from watcher.store import Store
from watcher.store.locking import insert_or_ignore
from watcher.store.schema import UtcDateTime, metadata

desk_users = Table(
    "desk_users",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("username", String(100), nullable=False, unique=True),
    Column("password_hash", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, default=utcnow),
    Column("last_login", UtcDateTime),
)
Index("ux_desk_users_lower_name", func.lower(desk_users.c.username), unique=True)

desk_sessions = Table(
    "desk_sessions",
    metadata,
    Column("id", String(64), primary_key=True),  # sha256 of the cookie's token
    Column("username", String(100), nullable=False),
    Column("created_at", UtcDateTime, nullable=False, default=utcnow),
    Column("last_seen", UtcDateTime, nullable=False, default=utcnow),
    Index("ix_desk_sessions_user", "username"),
)

desk_secrets = Table(
    "desk_secrets",
    metadata,
    Column("name", String(50), primary_key=True),
    Column("value", Text, nullable=False),
    Column("created_at", UtcDateTime, nullable=False, default=utcnow),
)

decisions = Table(
    "decisions",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("at", UtcDateTime, nullable=False, default=utcnow),
    Column("user", String(100), nullable=False),
    Column("week", String(8)),
    Column("item_id", Integer),
    # kept, pinned, position, title, summary, labels.type, labels.themes, …
    Column("field", String(40), nullable=False),
    Column("before", JSON),
    Column("after", JSON),
    Column("undone_at", UtcDateTime),
    Column("undo_of", Integer),
    Index("ix_decisions_week", "week", "at"),
    Index("ix_decisions_item", "item_id"),
)


class UserError(WatcherError):
    """A user name that exists already, or one that does not."""


# --- users -----------------------------------------------------------------


def _named(username: str) -> Any:
    return func.lower(desk_users.c.username) == (username or "").lower()


def insert_user(store: Store, username: str, password_hash: str) -> int:
    existing = get_user(store, username)
    if existing is not None:
        raise UserError(f"user '{existing['username']}' exists already")
    try:
        with store.begin() as conn:
            result = conn.execute(
                insert(desk_users).values(
                    username=username, password_hash=password_hash, created_at=utcnow()
                )
            )
            return int(result.inserted_primary_key[0])
    except IntegrityError:
        raise UserError(f"user '{username}' exists already") from None


def get_user(store: Store, username: str) -> dict[str, Any] | None:
    """The account named so, whatever the case (``username`` holds its own spelling)."""
    with store.connect() as conn:
        row = conn.execute(select(desk_users).where(_named(username))).first()
    return dict(row._mapping) if row else None


def list_users(store: Store) -> list[dict[str, Any]]:
    with store.connect() as conn:
        rows = conn.execute(
            select(
                desk_users.c.id,
                desk_users.c.username,
                desk_users.c.created_at,
                desk_users.c.last_login,
            ).order_by(desk_users.c.username)
        )
        return [dict(r._mapping) for r in rows]


def count_users(store: Store) -> int:
    with store.connect() as conn:
        return int(conn.execute(select(func.count()).select_from(desk_users)).scalar_one())


def delete_user(store: Store, username: str) -> None:
    """Remove an account and end its sessions."""
    with store.begin() as conn:
        user = conn.execute(select(desk_users.c.username).where(_named(username))).scalar()
        if user is None:
            raise UserError(f"no user named '{username}'")
        conn.execute(desk_users.delete().where(desk_users.c.username == user))
        conn.execute(desk_sessions.delete().where(desk_sessions.c.username == user))


def update_user(store: Store, username: str, **values: Any) -> None:
    with store.begin() as conn:
        conn.execute(update(desk_users).where(_named(username)).values(**values))


# --- sessions --------------------------------------------------------------


def _token_id(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def create_session(store: Store, username: str, *, forget_after: timedelta | None = None) -> str:
    """A new session of the account; returns the token to keep in the cookie.
    Sessions of anyone older than ``forget_after`` are deleted on the way."""
    token = secrets.token_urlsafe(32)
    now = utcnow()
    with store.begin() as conn:
        if forget_after is not None:
            conn.execute(
                desk_sessions.delete().where(desk_sessions.c.created_at < now - forget_after)
            )
        conn.execute(
            insert(desk_sessions).values(
                id=_token_id(token), username=username, created_at=now, last_seen=now
            )
        )
    return token


def session_user(store: Store, token: str, *, max_age: timedelta | None = None) -> str | None:
    """The account of a live session (None when it was ended or is older than max_age)."""
    if not token:
        return None
    with store.connect() as conn:
        row = conn.execute(
            select(desk_sessions.c.username, desk_sessions.c.created_at).where(
                desk_sessions.c.id == _token_id(token)
            )
        ).first()
    if row is None:
        return None
    if max_age is not None and _as_utc(row.created_at) < utcnow() - max_age:
        end_session(store, token)
        return None
    return row.username


def end_session(store: Store, token: str) -> None:
    with store.begin() as conn:
        conn.execute(desk_sessions.delete().where(desk_sessions.c.id == _token_id(token or "")))


def end_sessions(store: Store, username: str) -> int:
    """End every session of an account (new password, removal); returns how many."""
    with store.begin() as conn:
        result = conn.execute(
            desk_sessions.delete().where(
                func.lower(desk_sessions.c.username) == (username or "").lower()
            )
        )
    return result.rowcount


# --- secrets ---------------------------------------------------------------


def get_or_create_secret(store: Store, name: str = "session", nbytes: int = 32) -> str:
    """A random secret generated once and kept in the store (sessions, unsubscribe links)."""
    with store.connect() as conn:
        value = conn.execute(
            select(desk_secrets.c.value).where(desk_secrets.c.name == name)
        ).scalar_one_or_none()
    if value:
        return value
    with store.begin() as conn:  # another process may create it first: then use theirs
        insert_or_ignore(
            conn,
            desk_secrets,
            {"name": name, "value": secrets.token_urlsafe(nbytes), "created_at": utcnow()},
        )
    with store.connect() as conn:
        return conn.execute(
            select(desk_secrets.c.value).where(desk_secrets.c.name == name)
        ).scalar_one()


def get_secret(store: Store, name: str) -> str | None:
    """A value kept in the secrets table, or None (nothing is created)."""
    with store.connect() as conn:
        return conn.execute(
            select(desk_secrets.c.value).where(desk_secrets.c.name == name)
        ).scalar_one_or_none()


def put_secret(store: Store, name: str, value: str) -> None:
    """Keep ``value`` under ``name``, replacing what was there."""
    with store.begin() as conn:
        done = conn.execute(
            update(desk_secrets).where(desk_secrets.c.name == name).values(value=value)
        )
        if not done.rowcount:
            insert_or_ignore(
                conn, desk_secrets, {"name": name, "value": value, "created_at": utcnow()}
            )


# --- decisions -------------------------------------------------------------


def record_decision(
    store: Store,
    *,
    user: str,
    field: str,
    before: Any,
    after: Any,
    week: str | None = None,
    item_id: int | None = None,
    undo_of: int | None = None,
    at: datetime | None = None,
) -> int:
    with store.begin() as conn:
        result = conn.execute(
            insert(decisions).values(
                at=at or utcnow(),
                user=user,
                week=week,
                item_id=item_id,
                field=field,
                before=before,
                after=after,
                undo_of=undo_of,
            )
        )
        if undo_of is not None:
            # Claimed in the same transaction: of two undos of one decision at once, one
            # is recorded and the other refused.
            claimed = conn.execute(
                update(decisions)
                .where(decisions.c.id == undo_of, decisions.c.undone_at.is_(None))
                .values(undone_at=utcnow())
            )
            if claimed.rowcount != 1:
                raise WatcherError(f"decision {undo_of} was already undone")
        return int(result.inserted_primary_key[0])


def get_decision(store: Store, decision_id: int) -> dict[str, Any] | None:
    with store.connect() as conn:
        row = conn.execute(select(decisions).where(decisions.c.id == decision_id)).first()
    return dict(row._mapping) if row else None


def list_decisions(
    store: Store,
    *,
    week: str | None = None,
    item_id: int | None = None,
    limit: int = 100,
) -> list[dict[str, Any]]:
    """Newest first."""
    query = select(decisions).order_by(decisions.c.id.desc()).limit(limit)
    if week is not None:
        query = query.where(decisions.c.week == week)
    if item_id is not None:
        query = query.where(decisions.c.item_id == item_id)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


# --- full-text search ------------------------------------------------------

_MAX_WORDS = 12


def _quoted_words(query: str, quote: str, prefix: str, joiner: str) -> str:
    """Each word of the user's query quoted (no operator gets through), the last one
    marked as a prefix, joined so that all are required."""
    words = re.findall(r"\w+", query or "")[:_MAX_WORDS]
    if not words:
        return ""
    quoted = [f"{quote}{w}{quote}" for w in words]
    quoted[-1] += prefix
    return joiner.join(quoted)


def fts_query(query: str) -> str:
    """User words as an SQLite FTS5 query: ``"a" "b"*``."""
    return _quoted_words(query, '"', "*", " ")


def tsquery(query: str) -> str:
    """The same words as a PostgreSQL ``to_tsquery`` text: ``'a' & 'b':*``."""
    return _quoted_words(query, "'", ":*", " & ")


# FTS5 ranks with bm25 (title 5, text 1) and quotes 16 tokens of the text around
# the match; PostgreSQL ranks with ts_rank (weights D, C, B, A: text B, title A),
# length-normalised as bm25 is, and ts_headline quotes the text the same way.
_SQLITE_SEARCH = (
    "SELECT items.id, items.title, items.url, items.published, items.first_seen, "
    "snippet(items_fts, 1, '[', ']', ' … ', 16) AS snippet "
    "FROM items_fts JOIN items ON items.id = items_fts.rowid "
    "WHERE items_fts MATCH :q ORDER BY bm25(items_fts, 5.0, 1.0) LIMIT :n"
)
_POSTGRESQL_SEARCH = (
    "WITH query AS (SELECT to_tsquery('watcher_french', :q) AS q), "
    "hits AS (SELECT items.id, items.title, items.url, items.published, items.first_seen, "
    "items.text, ts_rank('{0.1, 0.2, 0.2, 1.0}', items.search, query.q, 1) AS rank "
    "FROM items, query WHERE items.search @@ query.q "
    "ORDER BY rank DESC, items.id LIMIT :n) "
    "SELECT hits.id, hits.title, hits.url, hits.published, hits.first_seen, "
    "ts_headline('watcher_french', left(hits.text, 20000), query.q, "
    "'StartSel=[, StopSel=], MaxWords=16, MinWords=8, MaxFragments=1, "
    'FragmentDelimiter=" … "\') AS snippet '
    "FROM hits, query ORDER BY hits.rank DESC, hits.id"
)


def search_items(store: Store, query: str, *, limit: int = 30) -> list[dict[str, Any]]:
    """Items of the whole store matching every word (the last one as a prefix), best
    match first: FTS5 on SQLite, a French tsvector on PostgreSQL."""
    match = fts_query(query) if store.is_sqlite else tsquery(query)
    if not match:
        return []
    statement = _SQLITE_SEARCH if store.is_sqlite else _POSTGRESQL_SEARCH
    with store.connect() as conn:
        rows = conn.execute(text(statement), {"q": match, "n": limit})
        out = []
        for row in rows:
            data = dict(row._mapping)
            for key in ("published", "first_seen"):
                data[key] = _as_utc(data[key])
            out.append(data)
        return out


def _as_utc(value: Any) -> datetime | None:
    from datetime import UTC

    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value if value.tzinfo else value.replace(tzinfo=UTC)


def get_explanations(store: Store, item_ids: list[int]) -> dict[int, dict[str, Any]]:
    """Why the classifier gave each label (``item_labels.explanations``), by item."""
    from watcher.store.schema import item_labels

    if not item_ids:
        return {}
    out: dict[int, dict[str, Any]] = {}
    with store.connect() as conn:
        for start in range(0, len(item_ids), 900):
            chunk = item_ids[start : start + 900]
            for item_id, explanations in conn.execute(
                select(item_labels.c.item_id, item_labels.c.explanations).where(
                    item_labels.c.item_id.in_(chunk)
                )
            ):
                out[item_id] = explanations or {}
    return out
