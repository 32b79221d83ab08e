"""Subscribers: one per address whatever its case, an opaque key for the links,
and the public form's pending requests (double opt-in).

Existing addresses that differ only in case are merged first: the oldest row
stays (active when any of them was), its choices become the union of theirs
(an empty list, "everything", wins), their delivery log is moved over (a week
already logged for the kept row keeps that row's entry).

Revision ID: 0007_subscribers
Revises: 0006_event
"""

import secrets

import sqlalchemy as sa
from alembic import op

from watcher.store.schema import UtcDateTime

revision = "0007_subscribers"
down_revision = "0006_event"
branch_labels = None
depends_on = None


def _union(lists: list[list[str]]) -> list[str]:
    if any(not values for values in lists):
        return []  # one of them had everything
    return sorted({v for values in lists for v in values})


def _merge_case_duplicates(conn: sa.Connection) -> None:
    subscribers = sa.table(
        "subscribers",
        sa.column("id", sa.Integer),
        sa.column("email", sa.String),
        sa.column("themes", sa.JSON),
        sa.column("types", sa.JSON),
        sa.column("scopes", sa.JSON),
        sa.column("status", sa.String),
        sa.column("unsubscribed_at", UtcDateTime),
    )
    deliveries = sa.table(
        "deliveries",
        sa.column("id", sa.Integer),
        sa.column("week", sa.String),
        sa.column("edition", sa.Integer),
        sa.column("subscriber_id", sa.Integer),
    )
    groups: dict[str, list] = {}
    for row in conn.execute(sa.select(subscribers).order_by(subscribers.c.id)):
        groups.setdefault(row.email.lower(), []).append(row)
    for rows in groups.values():
        if len(rows) < 2:
            continue
        kept, others = rows[0], rows[1:]
        active = any(r.status == "active" for r in rows)
        conn.execute(
            sa.update(subscribers)
            .where(subscribers.c.id == kept.id)
            .values(
                themes=_union([r.themes for r in rows]),
                types=_union([r.types for r in rows]),
                scopes=_union([r.scopes for r in rows]),
                status="active" if active else kept.status,
                unsubscribed_at=None if active else kept.unsubscribed_at,
            )
        )
        logged = {
            (d.week, d.edition)
            for d in conn.execute(
                sa.select(deliveries).where(deliveries.c.subscriber_id == kept.id)
            )
        }
        for other in others:
            for d in conn.execute(
                sa.select(deliveries).where(deliveries.c.subscriber_id == other.id)
            ).all():
                if (d.week, d.edition) in logged:
                    conn.execute(sa.delete(deliveries).where(deliveries.c.id == d.id))
                else:
                    logged.add((d.week, d.edition))
                    conn.execute(
                        sa.update(deliveries)
                        .where(deliveries.c.id == d.id)
                        .values(subscriber_id=kept.id)
                    )
            conn.execute(sa.delete(subscribers).where(subscribers.c.id == other.id))


def upgrade() -> None:
    conn = op.get_bind()
    _merge_case_duplicates(conn)
    with op.batch_alter_table("subscribers") as batch:
        batch.add_column(sa.Column("key", sa.String(40), nullable=True))
    for (subscriber_id,) in conn.execute(sa.text("SELECT id FROM subscribers")).all():
        conn.execute(
            sa.text("UPDATE subscribers SET key = :key WHERE id = :id"),
            {"key": secrets.token_urlsafe(16), "id": subscriber_id},
        )
    with op.batch_alter_table("subscribers") as batch:
        batch.alter_column("key", existing_type=sa.String(40), nullable=False)
        batch.create_unique_constraint("uq_subscribers_key", ["key"])
    op.create_index(
        "ux_subscribers_email_ci", "subscribers", [sa.text("lower(email)")], unique=True
    )
    op.create_table(
        "subscription_requests",
        sa.Column("id", sa.Integer, primary_key=True, autoincrement=True),
        sa.Column("key", sa.String(40), nullable=False, unique=True),
        sa.Column("email", sa.String(320), nullable=False),
        sa.Column("themes", sa.JSON, nullable=False),
        sa.Column("types", sa.JSON, nullable=False),
        sa.Column("scopes", sa.JSON, nullable=False),
        sa.Column("created_at", UtcDateTime, nullable=False),
        sa.Column("confirmed_at", UtcDateTime),
    )
    op.create_index(
        "ix_subscription_requests_email", "subscription_requests", ["email", "created_at"]
    )


def downgrade() -> None:
    op.drop_table("subscription_requests")
    op.drop_index("ux_subscribers_email_ci", table_name="subscribers")
    with op.batch_alter_table("subscribers") as batch:
        batch.drop_constraint("uq_subscribers_key", type_="unique")
        batch.drop_column("key")
