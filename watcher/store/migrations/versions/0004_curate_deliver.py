"""Curation desk and delivery tables (decisions, users, subscribers, deliveries).

Revision ID: 0004_curate_deliver
Revises: 0003_publish
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0004_curate_deliver"
down_revision = "0003_publish"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
