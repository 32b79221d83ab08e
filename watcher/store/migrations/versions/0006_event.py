"""Event dates and place of events and trainings, beside the model's labels.

The curators' corrections of an event live in ``label_overrides.labels`` under
``"event"`` (a JSON object or null), like their other corrections.

Revision ID: 0006_event
Revises: 0005_schedule
"""

import sqlalchemy as sa
from alembic import op

revision = "0006_event"
down_revision = "0005_schedule"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("item_labels") as batch:
        batch.add_column(sa.Column("event", sa.JSON, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("item_labels") as batch:
        batch.drop_column("event")
