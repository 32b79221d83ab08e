"""Classify stage tables: curators' label corrections.

Revision ID: 0002_classify
Revises: 0001_core
"""

import sqlalchemy as sa
from alembic import op

from watcher.store.schema import UtcDateTime

revision = "0002_classify"
down_revision = "0001_core"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "label_overrides",
        sa.Column(
            "item_id",
            sa.Integer,
            sa.ForeignKey("items.id", ondelete="CASCADE"),
            primary_key=True,
        ),
        sa.Column("labels", sa.JSON, nullable=False),
        sa.Column("user", sa.String(200), nullable=False),
        sa.Column("updated_at", UtcDateTime, nullable=False),
    )
    op.create_index("ix_item_labels_model_version", "item_labels", ["model_version"])


def downgrade() -> None:
    op.drop_index("ix_item_labels_model_version", "item_labels")
    op.drop_table("label_overrides")
