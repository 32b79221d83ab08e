"""Core tables: sources, runs, HTTP cache, items, their sources, raw bodies, labels, FTS5.

Revision ID: 0001_core
Revises:
"""

import sqlalchemy as sa
from alembic import op

from watcher.store.schema import UtcDateTime

revision = "0001_core"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "sources",
        sa.Column("id", sa.String(100), primary_key=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("organisation", sa.Text, nullable=False),
        sa.Column("kind", sa.String(20), nullable=False),
        sa.Column("url", sa.Text, nullable=False),
        sa.Column("enabled", sa.Boolean, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "crawl_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("pid", sa.Integer),
    )
    op.create_table(
        "source_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("run_id", sa.Integer, sa.ForeignKey("crawl_runs.id"), nullable=False),
        sa.Column("source_id", sa.String(100), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("http_status", sa.Integer),
        sa.Column("error_kind", sa.String(40)),
        sa.Column("error_message", sa.Text),
        sa.Column("duration_s", sa.Float, nullable=False),
        sa.Column("items_found", sa.Integer, nullable=False),
        sa.Column("items_new", sa.Integer, nullable=False),
        sa.UniqueConstraint("run_id", "source_id"),
    )
    op.create_index("ix_source_runs_source", "source_runs", ["source_id", "started_at"])
    op.create_table(
        "http_cache",
        sa.Column("url", sa.Text, primary_key=True),
        sa.Column("etag", sa.Text),
        sa.Column("last_modified", sa.Text),
        sa.Column("status", sa.Integer),
        sa.Column("fetched_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "host_backoff",
        sa.Column("host", sa.String(255), primary_key=True),
        sa.Column("until", UtcDateTime, nullable=False),
        sa.Column("reason", sa.Text, nullable=False),
    )
    op.create_table(
        "items",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("uid", sa.String(32), nullable=False, unique=True),
        sa.Column("url", sa.Text, nullable=False, unique=True),
        sa.Column("title", sa.Text, nullable=False),
        sa.Column("summary", sa.Text, nullable=False),
        sa.Column("text", sa.Text, nullable=False),
        sa.Column("language", sa.String(12)),
        sa.Column("published", UtcDateTime),
        sa.Column("first_seen", UtcDateTime, nullable=False),
        sa.Column("last_seen", UtcDateTime, nullable=False),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("minhash", sa.LargeBinary),
        sa.Column("extra", sa.JSON, nullable=False),
        sa.Column("complete", sa.Boolean, nullable=False),
    )
    op.create_index("ix_items_first_seen", "items", ["first_seen"])
    op.create_index("ix_items_published", "items", ["published"])
    op.create_index("ix_items_complete", "items", ["complete"])
    op.create_table(
        "item_sources",
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("source_id", sa.String(100), primary_key=True),
        sa.Column("url_seen", sa.Text, nullable=False),
        sa.Column("first_seen", UtcDateTime, nullable=False),
    )
    op.create_index("ix_item_sources_url", "item_sources", ["url_seen"])
    op.create_table(
        "api_tokens",
        sa.Column("source_id", sa.String(100), primary_key=True),
        sa.Column("token", sa.Text, nullable=False),
        sa.Column("expires_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "seen_marks",
        sa.Column("source_id", sa.String(100), primary_key=True),
        sa.Column("mark", sa.String(255), primary_key=True),
        sa.Column("seen_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "robots_txt",
        sa.Column("origin", sa.String(300), primary_key=True),
        sa.Column("status", sa.Integer, nullable=False),
        sa.Column("body", sa.LargeBinary, nullable=False),
        sa.Column("fetched_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "raw_bodies",
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("fetched_at", UtcDateTime, nullable=False),
        sa.Column("content_type", sa.String(100)),
        sa.Column("body", sa.LargeBinary, nullable=False),
    )
    op.create_table(
        "item_labels",
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("scores", sa.JSON, nullable=False),
        sa.Column("explanations", sa.JSON, nullable=False),
        sa.Column("model_version", sa.String(64), nullable=False),
        sa.Column("input_hash", sa.String(64), nullable=False),
        sa.Column("labelled_at", UtcDateTime, nullable=False),
    )
    if op.get_bind().dialect.name == "sqlite":
        # Full-text search for the curators: an external-content FTS5 index kept
        # in step with `items` by triggers, so no write path can forget it.
        op.execute(
            "CREATE VIRTUAL TABLE items_fts USING fts5("
            "title, text, content='items', content_rowid='id', "
            "tokenize='unicode61 remove_diacritics 2')"
        )
        op.execute(
            "CREATE TRIGGER items_fts_ai AFTER INSERT ON items BEGIN "
            "INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END"
        )
        op.execute(
            "CREATE TRIGGER items_fts_ad AFTER DELETE ON items BEGIN "
            "INSERT INTO items_fts(items_fts, rowid, title, text) "
            "VALUES ('delete', old.id, old.title, old.text); END"
        )
        op.execute(
            "CREATE TRIGGER items_fts_au AFTER UPDATE OF title, text ON items BEGIN "
            "INSERT INTO items_fts(items_fts, rowid, title, text) "
            "VALUES ('delete', old.id, old.title, old.text); "
            "INSERT INTO items_fts(rowid, title, text) VALUES (new.id, new.title, new.text); END"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "sqlite":
        op.execute("DROP TABLE IF EXISTS items_fts")
    for table in (
        "robots_txt",
        "seen_marks",
        "api_tokens",
        "item_labels",
        "raw_bodies",
        "item_sources",
        "items",
        "host_backoff",
        "http_cache",
        "source_runs",
        "crawl_runs",
        "sources",
    ):
        op.drop_table(table)
