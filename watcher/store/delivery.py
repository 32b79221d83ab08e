"""Delivery tables: subscribers and the delivery log.

The log holds one row per week × edition × subscriber. The sender inserts it
``pending`` (committed) before talking to the SMTP server and marks it
``sent`` right after, so a re-run can tell what was already handed over.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Column,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from watcher.base.clock import utcnow
from watcher.exceptions import WatcherError
from watcher.store import Store
from watcher.store.schema import UtcDateTime, metadata

subscribers = Table(
    "subscribers",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("email", String(320), nullable=False, unique=True),
    Column("name", Text, nullable=False, default=""),
    Column("themes", JSON, nullable=False, default=list),  # [] means every theme
    Column("types", JSON, nullable=False, default=list),  # [] means every type
    Column("scopes", JSON, nullable=False, default=list),  # [] means every scope
    Column("status", String(20), nullable=False, default="active"),  # active | unsubscribed
    Column("created_at", UtcDateTime, nullable=False, default=utcnow),
    Column("unsubscribed_at", UtcDateTime),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("week", String(8), nullable=False),
    Column("edition", Integer, nullable=False),
    Column("subscriber_id", Integer, nullable=False),
    Column("email", String(320), nullable=False),
    # pending | sent | failed | skipped (nothing for their themes) | dry_run
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, default=0),
    Column("last_error", Text),
    Column("message_id", Text),
    Column("items", Integer, nullable=False, default=0),
    Column("created_at", UtcDateTime, nullable=False, default=utcnow),
    Column("updated_at", UtcDateTime, nullable=False, default=utcnow),
    Column("sent_at", UtcDateTime),
    UniqueConstraint("week", "edition", "subscriber_id"),
    Index("ix_deliveries_status", "week", "status"),
)

SUBSCRIBER_STATUSES = ("active", "unsubscribed")


class SubscriberError(WatcherError):
    """A subscriber that exists already, or one that does not."""


# --- subscribers -----------------------------------------------------------


def insert_subscriber(
    store: Store,
    *,
    email: str,
    name: str = "",
    themes: list[str] | None = None,
    types: list[str] | None = None,
    scopes: list[str] | None = None,
    created_at: datetime | None = None,
) -> int:
    values = {
        "email": email,
        "name": name,
        "themes": list(themes or []),
        "types": list(types or []),
        "scopes": list(scopes or []),
        "status": "active",
        "created_at": created_at or utcnow(),
    }
    try:
        with store.begin() as conn:
            result = conn.execute(insert(subscribers).values(**values))
            return int(result.inserted_primary_key[0])
    except IntegrityError:
        raise SubscriberError(f"subscriber <{email}> exists already") from None


def get_subscriber(
    store: Store, *, email: str | None = None, subscriber_id: int | None = None
) -> dict[str, Any] | None:
    query = select(subscribers)
    if email is not None:
        query = query.where(subscribers.c.email == email)
    else:
        query = query.where(subscribers.c.id == subscriber_id)
    with store.connect() as conn:
        row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def list_subscribers(store: Store, *, status: str | None = None) -> list[dict[str, Any]]:
    query = select(subscribers).order_by(subscribers.c.email)
    if status is not None:
        query = query.where(subscribers.c.status == status)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def set_subscriber_status(store: Store, email: str, status: str) -> bool:
    """Returns False when no subscriber has this address."""
    values: dict[str, Any] = {"status": status}
    values["unsubscribed_at"] = utcnow() if status == "unsubscribed" else None
    if status == "active":
        # Re-subscribing starts afresh: no backlog, as for a new subscriber.
        values["created_at"] = utcnow()
    with store.begin() as conn:
        result = conn.execute(
            update(subscribers).where(subscribers.c.email == email).values(**values)
        )
    return result.rowcount > 0


def delete_subscriber(store: Store, email: str) -> bool:
    with store.begin() as conn:
        result = conn.execute(subscribers.delete().where(subscribers.c.email == email))
    return result.rowcount > 0


# --- deliveries ------------------------------------------------------------


def get_delivery(
    store: Store, week: str, edition: int, subscriber_id: int
) -> dict[str, Any] | None:
    with store.connect() as conn:
        row = conn.execute(
            select(deliveries).where(
                deliveries.c.week == week,
                deliveries.c.edition == edition,
                deliveries.c.subscriber_id == subscriber_id,
            )
        ).first()
    return dict(row._mapping) if row else None


def list_deliveries(
    store: Store, *, week: str | None = None, status: str | None = None
) -> list[dict[str, Any]]:
    query = select(deliveries).order_by(deliveries.c.id)
    if week is not None:
        query = query.where(deliveries.c.week == week)
    if status is not None:
        query = query.where(deliveries.c.status == status)
    with store.connect() as conn:
        return [dict(r._mapping) for r in conn.execute(query)]


def begin_attempt(
    store: Store, *, week: str, edition: int, subscriber_id: int, email: str, items: int
) -> dict[str, Any]:
    """Mark the message ``pending`` and count the attempt, committed before any send.

    Returns the row as it is now (attempts already incremented).
    """
    now = utcnow()
    with store.begin() as conn:
        row = conn.execute(
            select(deliveries).where(
                deliveries.c.week == week,
                deliveries.c.edition == edition,
                deliveries.c.subscriber_id == subscriber_id,
            )
        ).first()
        if row is None:
            conn.execute(
                insert(deliveries).values(
                    week=week,
                    edition=edition,
                    subscriber_id=subscriber_id,
                    email=email,
                    status="pending",
                    attempts=1,
                    items=items,
                    created_at=now,
                    updated_at=now,
                )
            )
        else:
            conn.execute(
                update(deliveries)
                .where(deliveries.c.id == row.id)
                .values(
                    status="pending",
                    attempts=row.attempts + 1,
                    email=email,
                    items=items,
                    updated_at=now,
                )
            )
    found = get_delivery(store, week, edition, subscriber_id)
    assert found is not None
    return found


def finish_attempt(
    store: Store,
    delivery_id: int,
    *,
    status: str,
    message_id: str | None = None,
    error: str | None = None,
) -> None:
    now = utcnow()
    values: dict[str, Any] = {"status": status, "updated_at": now, "last_error": error}
    if message_id is not None:
        values["message_id"] = message_id
    if status == "sent":
        values["sent_at"] = now
    with store.begin() as conn:
        conn.execute(update(deliveries).where(deliveries.c.id == delivery_id).values(**values))


def record_outcome(
    store: Store,
    *,
    week: str,
    edition: int,
    subscriber_id: int,
    email: str,
    status: str,
    items: int = 0,
    message_id: str | None = None,
) -> None:
    """A final row in one step (``skipped``: nothing for their themes), kept if present."""
    now = utcnow()
    try:
        with store.begin() as conn:
            conn.execute(
                insert(deliveries).values(
                    week=week,
                    edition=edition,
                    subscriber_id=subscriber_id,
                    email=email,
                    status=status,
                    attempts=0,
                    items=items,
                    message_id=message_id,
                    created_at=now,
                    updated_at=now,
                )
            )
    except IntegrityError:
        pass
