"""Curation desk and delivery tables (users, secrets, decisions, subscribers, deliveries).

Revision ID: 0004_curate_deliver
Revises: 0003_publish
"""

import sqlalchemy as sa
from alembic import op

from watcher.store.schema import UtcDateTime

revision = "0004_curate_deliver"
down_revision = "0003_publish"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_users",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("username", sa.String(100), nullable=False, unique=True),
        sa.Column("password_hash", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("last_login", UtcDateTime),
    )
    op.create_table(
        "desk_secrets",
        sa.Column("name", sa.String(50), primary_key=True),
        sa.Column("value", sa.Text, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
    )
    op.create_table(
        "decisions",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("at", UtcDateTime, nullable=False),
        sa.Column("user", sa.String(100), nullable=False),
        sa.Column("week", sa.String(8)),
        sa.Column("item_id", sa.Integer),
        sa.Column("field", sa.String(40), nullable=False),
        sa.Column("before", sa.JSON),
        sa.Column("after", sa.JSON),
        sa.Column("undone_at", UtcDateTime),
        sa.Column("undo_of", sa.Integer),
    )
    op.create_index("ix_decisions_week", "decisions", ["week", "at"])
    op.create_index("ix_decisions_item", "decisions", ["item_id"])
    op.create_table(
        "subscribers",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("email", sa.String(320), nullable=False, unique=True),
        sa.Column("name", sa.Text, nullable=False),
        sa.Column("themes", sa.JSON, nullable=False),
        sa.Column("types", sa.JSON, nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("unsubscribed_at", UtcDateTime),
    )
    op.create_table(
        "deliveries",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("week", sa.String(8), nullable=False),
        sa.Column("edition", sa.Integer, nullable=False),
        sa.Column("subscriber_id", sa.Integer, nullable=False),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("status", sa.String(20), nullable=False),
        sa.Column("attempts", sa.Integer, nullable=False),
        sa.Column("last_error", sa.Text),
        sa.Column("message_id", sa.Text),
        sa.Column("items", sa.Integer, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("sent_at", UtcDateTime),
        sa.UniqueConstraint("week", "edition", "subscriber_id"),
    )
    op.create_index("ix_deliveries_status", "deliveries", ["week", "status"])


def downgrade() -> None:
    for table in ("deliveries", "subscribers", "decisions", "desk_secrets", "desk_users"):
        op.drop_table(table)
