"""Scheduler and operations tables (job runs, alerts, retention log).

APScheduler's own job store table (``apscheduler_jobs``) is created by
APScheduler when the scheduler first starts, not here.

Revision ID: 0005_schedule
Revises: 0004_curate_deliver
"""

import sqlalchemy as sa
from alembic import op

from watcher.store.schema import UtcDateTime

revision = "0005_schedule"
down_revision = "0004_curate_deliver"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "job_runs",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("job_id", sa.String(40), nullable=False),
        sa.Column("trigger", sa.String(20), nullable=False),
        sa.Column("started_at", UtcDateTime, nullable=False),
        sa.Column("finished_at", UtcDateTime),
        sa.Column("outcome", sa.String(20), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
    )
    op.create_index("ix_job_runs_job", "job_runs", ["job_id", "started_at"])
    op.create_table(
        "alerts",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("kind", sa.String(40), nullable=False),
        sa.Column("subject", sa.String(200), nullable=False),
        sa.Column("detail", sa.Text, nullable=False),
        sa.Column("first_seen", UtcDateTime, nullable=False),
        sa.Column("last_seen", UtcDateTime, nullable=False),
        sa.Column("count", sa.Integer, nullable=False),
        sa.Column("digested_at", UtcDateTime),
        sa.Column("resolved_at", UtcDateTime),
    )
    op.create_index("ix_alerts_open", "alerts", ["resolved_at", "kind", "subject"])
    op.create_table(
        "retention_log",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("ran_at", UtcDateTime, nullable=False),
        sa.Column("older_than", UtcDateTime, nullable=False),
        sa.Column("rows_dropped", sa.Integer, nullable=False),
        sa.Column("bytes_dropped", sa.Integer, nullable=False),
    )


def downgrade() -> None:
    op.drop_table("retention_log")
    op.drop_index("ix_alerts_open", table_name="alerts")
    op.drop_table("alerts")
    op.drop_index("ix_job_runs_job", table_name="job_runs")
    op.drop_table("job_runs")
