"""Desk: server-side sessions, curators' names unique whatever their case, and
the editorial ("le mot de l'équipe") of each bulletin edition.

Revision ID: 0009_desk_sessions
Revises: 0008_postgresql_search
"""

import sqlalchemy as sa
from alembic import op

from watcher.store.schema import UtcDateTime

revision = "0009_desk_sessions"
down_revision = "0008_postgresql_search"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "desk_sessions",
        sa.Column("id", sa.String(64), primary_key=True),  # sha256 of the cookie's token
        sa.Column("username", sa.String(100), nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("last_seen", UtcDateTime, nullable=False),
    )
    op.create_index("ix_desk_sessions_user", "desk_sessions", ["username"])
    bind = op.get_bind()
    twins = bind.execute(
        sa.text(
            "SELECT lower(username) FROM desk_users GROUP BY lower(username) HAVING count(*) > 1"
        )
    ).fetchall()
    if twins:
        names = ", ".join(row[0] for row in twins)
        raise RuntimeError(
            f"curator accounts differ only in case ({names}): remove one of each "
            "with an older watcher (`watcher users remove`) before upgrading"
        )
    op.create_index(
        "ux_desk_users_lower_name", "desk_users", [sa.text("lower(username)")], unique=True
    )
    with op.batch_alter_table("bulletins") as batch:
        batch.add_column(sa.Column("editorial", sa.Text, nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("bulletins") as batch:
        batch.drop_column("editorial")
    op.drop_index("ux_desk_users_lower_name", "desk_users")
    op.drop_index("ix_desk_sessions_user", "desk_sessions")
    op.drop_table("desk_sessions")
