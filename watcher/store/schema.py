"""Core tables of the store (SQLAlchemy Core).

Each stage that needs more tables declares them on this same ``metadata`` in
its own ``watcher/store/<area>.py`` module, with an Alembic revision in
``watcher/store/migrations/versions/``. Times are stored in UTC.
"""

from __future__ import annotations

from datetime import UTC

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)
from sqlalchemy.types import TypeDecorator

from watcher.base.clock import utcnow

metadata = MetaData()


class UtcDateTime(TypeDecorator):
    """Aware datetimes in Python, naive UTC in the database (same on SQLite and PostgreSQL)."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value, dialect):  # noqa: ANN001
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError(f"naive datetime {value!r}: give a timezone-aware datetime")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value, dialect):  # noqa: ANN001
        return None if value is None else value.replace(tzinfo=UTC)


sources = Table(
    "sources",
    metadata,
    Column("id", String(100), primary_key=True),
    Column("name", Text, nullable=False),
    Column("organisation", Text, nullable=False, default=""),
    Column("kind", String(20), nullable=False),
    Column("url", Text, nullable=False),
    Column("enabled", Boolean, nullable=False, default=True),
    Column("updated_at", UtcDateTime, nullable=False, default=utcnow),
)

crawl_runs = Table(
    "crawl_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("started_at", UtcDateTime, nullable=False, default=utcnow),
    Column("finished_at", UtcDateTime),
    # running | done | interrupted | killed
    Column("status", String(20), nullable=False, default="running"),
    Column("trigger", String(20), nullable=False, default="cli"),
    Column("pid", Integer),
)

source_runs = Table(
    "source_runs",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("run_id", Integer, ForeignKey("crawl_runs.id"), nullable=False),
    Column("source_id", String(100), nullable=False),
    Column("started_at", UtcDateTime, nullable=False, default=utcnow),
    # ok | not_modified | failed | skipped
    Column("status", String(20), nullable=False),
    Column("http_status", Integer),
    Column("error_kind", String(40)),
    Column("error_message", Text),
    Column("duration_s", Float, nullable=False, default=0.0),
    Column("items_found", Integer, nullable=False, default=0),
    Column("items_new", Integer, nullable=False, default=0),
    UniqueConstraint("run_id", "source_id"),
    Index("ix_source_runs_source", "source_id", "started_at"),
)

http_cache = Table(
    "http_cache",
    metadata,
    Column("url", Text, primary_key=True),
    Column("etag", Text),
    Column("last_modified", Text),
    Column("status", Integer),
    Column("fetched_at", UtcDateTime, nullable=False, default=utcnow),
)

host_backoff = Table(
    "host_backoff",
    metadata,
    Column("host", String(255), primary_key=True),
    Column("until", UtcDateTime, nullable=False),
    Column("reason", Text, nullable=False, default=""),
)

items = Table(
    "items",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("uid", String(32), nullable=False, unique=True),  # stable public id
    Column("url", Text, nullable=False, unique=True),  # canonical URL
    Column("title", Text, nullable=False, default=""),
    Column("summary", Text, nullable=False, default=""),
    Column("text", Text, nullable=False, default=""),
    Column("language", String(12)),
    Column("published", UtcDateTime),
    Column("first_seen", UtcDateTime, nullable=False, default=utcnow),
    Column("last_seen", UtcDateTime, nullable=False, default=utcnow),
    Column("content_hash", String(64), nullable=False, default=""),
    Column("minhash", LargeBinary),  # signature for near-duplicate detection
    Column("extra", JSON, nullable=False, default=dict),
    Column("complete", Boolean, nullable=False, default=True),
    Index("ix_items_first_seen", "first_seen"),
    Index("ix_items_published", "published"),
    Index("ix_items_complete", "complete"),
)

item_sources = Table(
    "item_sources",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("source_id", String(100), primary_key=True),
    Column("url_seen", Text, nullable=False),  # canonical form of the URL this source gave
    Column("first_seen", UtcDateTime, nullable=False, default=utcnow),
    Index("ix_item_sources_url", "url_seen"),
    # A source's items (sources page, `sources check`): the primary key starts with item_id.
    Index("ix_item_sources_source", "source_id", "first_seen"),
)

# Bearer tokens obtained by an API's token exchange, reused until they expire.
api_tokens = Table(
    "api_tokens",
    metadata,
    Column("source_id", String(100), primary_key=True),
    Column("token", Text, nullable=False),
    Column("expires_at", UtcDateTime, nullable=False),
)

# What a source has already taken that is not an item URL (e.g. JORF archives).
seen_marks = Table(
    "seen_marks",
    metadata,
    Column("source_id", String(100), primary_key=True),
    Column("mark", String(255), primary_key=True),
    Column("seen_at", UtcDateTime, nullable=False, default=utcnow),
)

# The last robots.txt of each origin (scheme://host[:port]), reused for up to 24 h
# (RFC 9309 §2.4). A 5xx answer is never stored: it disallows for one run only.
robots_txt = Table(
    "robots_txt",
    metadata,
    Column("origin", String(300), primary_key=True),
    Column("status", Integer, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("fetched_at", UtcDateTime, nullable=False),
)

raw_bodies = Table(
    "raw_bodies",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("fetched_at", UtcDateTime, nullable=False, default=utcnow),
    Column("content_type", String(100)),
    Column("body", LargeBinary, nullable=False),
)

item_labels = Table(
    "item_labels",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("labels", JSON, nullable=False),  # as `watcher label` writes them
    # EventInfo.to_dict() of an event or training, or null (`watcher label`'s "event").
    Column("event", JSON, nullable=True),
    Column("scores", JSON, nullable=False, default=dict),
    Column("explanations", JSON, nullable=False, default=dict),
    Column("model_version", String(64), nullable=False),
    Column("input_hash", String(64), nullable=False),
    Column("labelled_at", UtcDateTime, nullable=False, default=utcnow),
)
