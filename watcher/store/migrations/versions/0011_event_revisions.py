"""Calendar events' revisions: the SEQUENCE and LAST-MODIFIED of each VEVENT the
site published, so a changed deadline or event date replaces the calendar
clients' copy (they keep theirs while SEQUENCE stays the same).

Revision ID: 0011_event_revisions
Revises: 0010_source_items_index
"""

import sqlalchemy as sa
from alembic import op

from watcher.store.schema import UtcDateTime

revision = "0011_event_revisions"
down_revision = "0010_source_items_index"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "event_revisions",
        sa.Column("uid", sa.String(200), primary_key=True),
        sa.Column("content_hash", sa.String(64), nullable=False),
        sa.Column("sequence", sa.Integer, nullable=False),
        sa.Column("modified_at", UtcDateTime, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("event_revisions")
