"""Publish stage tables (bulletins, page hashes).

Revision ID: 0003_publish
Revises: 0002_classify
"""

import sqlalchemy as sa  # noqa: F401
from alembic import op  # noqa: F401

revision = "0003_publish"
down_revision = "0002_classify"
branch_labels = None
depends_on = None


def upgrade() -> None:
    pass


def downgrade() -> None:
    pass
