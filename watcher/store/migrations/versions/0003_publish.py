"""Publish stage tables: bulletins (editions, frozen snapshots), bulletin entries.

Revision ID: 0003_publish
Revises: 0002_classify
"""

import sqlalchemy as sa
from alembic import op

from watcher.store.schema import UtcDateTime

revision = "0003_publish"
down_revision = "0002_classify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "bulletins",
        sa.Column("week", sa.String(10), primary_key=True),
        sa.Column("edition", sa.Integer, primary_key=True),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("created_by", sa.Text),
        sa.Column("published_at", UtcDateTime),
        sa.Column("published_by", sa.Text),
        sa.Column("snapshot", sa.JSON),
    )
    op.create_table(
        "bulletin_entries",
        sa.Column("week", sa.String(10), primary_key=True),
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("status", sa.String(12), nullable=False),
        sa.Column("pinned", sa.Boolean, nullable=False),
        sa.Column("position", sa.Integer),
        sa.Column("title", sa.Text),
        sa.Column("summary", sa.Text),
        sa.Column("updated_at", UtcDateTime, nullable=False),
        sa.Column("updated_by", sa.Text),
    )
    op.create_index("ix_bulletin_entries_item", "bulletin_entries", ["item_id"])


def downgrade() -> None:
    op.drop_index("ix_bulletin_entries_item", "bulletin_entries")
    op.drop_table("bulletin_entries")
    op.drop_table("bulletins")
