"""Scheduler and operations tables (job runs, alerts).

Revision ID: 0005_schedule
Revises: 0004_curate_deliver
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0005_schedule"
down_revision = "0004_curate_deliver"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
