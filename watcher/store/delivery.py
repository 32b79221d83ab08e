"""Delivery tables: subscribers, subscription requests and the delivery log.

Addresses are compared case-insensitively (``lower(email)``, unique): the
address is kept as first written, but ``OK1@Example.ORG`` and
``ok1@example.org`` are one subscriber. Each subscriber has an opaque random
``key``: the links in the e-mails sign it, never the address.

The log holds one row per week × edition × subscriber. The sender inserts it
``pending`` (committed) before talking to the SMTP server and marks it
``sent`` right after, or ``uncertain`` when the connection broke after the
message was handed over, so a re-run can tell what may have been delivered.
"""

from __future__ import annotations

import secrets
from collections.abc import Iterable
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
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from watcher.base.clock import utcnow
from watcher.exceptions import DeliveryError, WatcherError
from watcher.store import Store
from watcher.store.locking import insert_or_ignore, lock_key
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
    # active | paused (keeps the links, gets nothing) | unsubscribed
    Column("status", String(20), nullable=False, default="active"),
    Column("created_at", UtcDateTime, nullable=False, default=utcnow),
    Column("unsubscribed_at", UtcDateTime),
    Column("key", String(40), nullable=False, unique=True),  # what the e-mails' links sign
)
Index("ux_subscribers_email_ci", func.lower(subscribers.c.email), unique=True)

# The public form's pending subscriptions: nothing is sent to the address but the
# confirmation link, which signs ``key``; confirming creates or updates the subscriber.
subscription_requests = Table(
    "subscription_requests",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("key", String(40), nullable=False, unique=True),
    Column("email", String(320), nullable=False),
    Column("themes", JSON, nullable=False, default=list),
    Column("types", JSON, nullable=False, default=list),
    Column("scopes", JSON, nullable=False, default=list),
    Column("created_at", UtcDateTime, nullable=False, default=utcnow),
    Column("confirmed_at", UtcDateTime),
    Index("ix_subscription_requests_email", "email", "created_at"),
)

deliveries = Table(
    "deliveries",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("week", String(8), nullable=False),
    Column("edition", Integer, nullable=False),
    Column("subscriber_id", Integer, nullable=False),
    Column("email", String(320), nullable=False),
    # pending (in flight, or the process died) | sent | failed (refused, or broke before
    # the message was handed over) | uncertain (broke after DATA) | skipped (nothing for them)
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

SUBSCRIBER_STATUSES = ("active", "paused", "unsubscribed")
# Delivery statuses of a message that may have reached its reader: an edition with
# one of them can no longer be withdrawn (bulletins.unfreeze).
HANDED_OVER = ("pending", "sent", "uncertain")
CHOICE_FIELDS = ("name", "themes", "types", "scopes")


class SubscriberError(WatcherError):
    """A subscriber that exists already, or one that does not."""


# --- subscribers -----------------------------------------------------------


def new_key() -> str:
    """An opaque random id (128 bits): what a link signs instead of the address."""
    return secrets.token_urlsafe(16)


def _same_address(email: str) -> Any:
    return func.lower(subscribers.c.email) == email.strip().lower()


def insert_subscriber(store: Store, *, email: str, **choices: Any) -> int:
    """A new active subscriber (``name``, ``themes``, ``types``, ``scopes``, ``created_at``);
    SubscriberError when the address (whatever its case) is there already."""
    try:
        with store.begin() as conn:
            return _insert(conn, email, **choices)
    except IntegrityError:
        raise SubscriberError(f"subscriber <{email}> exists already") from None


def _insert(
    conn: Any,
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
        "key": new_key(),
    }
    return int(conn.execute(insert(subscribers).values(**values)).inserted_primary_key[0])


def get_subscriber(
    store: Store,
    *,
    email: str | None = None,
    subscriber_id: int | None = None,
    key: str | None = None,
) -> dict[str, Any] | None:
    """By address (case-insensitive), id or key."""
    query = select(subscribers)
    if email is not None:
        query = query.where(_same_address(email))
    elif key is not None:
        query = query.where(subscribers.c.key == key)
    else:
        query = query.where(subscribers.c.id == subscriber_id)
    with store.connect() as conn:
        row = conn.execute(query).first()
    return dict(row._mapping) if row else None


def list_subscribers(
    store: Store, *, status: str | None = None, search: str = ""
) -> list[dict[str, Any]]:
    """Subscribers by address; ``search``: only those whose address or name holds
    it, in any case."""
    query = select(subscribers).order_by(subscribers.c.email)
    if status is not None:
        query = query.where(subscribers.c.status == status)
    wanted = search.strip().casefold()
    in_sql = search.strip().isascii()  # SQLite's lower() changes ASCII letters only
    if wanted and in_sql:
        pattern = f"%{_like_literal(wanted)}%"
        query = query.where(
            or_(
                func.lower(subscribers.c.email).like(pattern, escape="\\"),
                func.lower(subscribers.c.name).like(pattern, escape="\\"),
            )
        )
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
    if wanted and not in_sql:
        # SQLite's lower() leaves "É" as it is: an accented search is matched here.
        rows = [
            r for r in rows if wanted in r["email"].casefold() or wanted in r["name"].casefold()
        ]
    return rows


def count_subscribers(store: Store) -> int:
    with store.connect() as conn:
        return conn.execute(select(func.count()).select_from(subscribers)).scalar_one()


def _status_values(status: str, previous: str | None) -> dict[str, Any]:
    if status not in SUBSCRIBER_STATUSES:
        raise ValueError(f"subscriber status {status!r}: expected one of {SUBSCRIBER_STATUSES}")
    values: dict[str, Any] = {"status": status}
    values["unsubscribed_at"] = utcnow() if status == "unsubscribed" else None
    if status == "active" and previous == "unsubscribed":
        # Re-subscribing starts afresh: no backlog, as for a new subscriber.
        values["created_at"] = utcnow()
    return values


def set_subscriber_status(store: Store, email: str, status: str) -> bool:
    """Returns False when no subscriber has this address."""
    with store.begin() as conn:
        row = conn.execute(select(subscribers).where(_same_address(email))).first()
        if row is None:
            return False
        conn.execute(
            update(subscribers)
            .where(subscribers.c.id == row.id)
            .values(**_status_values(status, row.status))
        )
    return True


def update_subscriber(store: Store, subscriber_id: int, **changes: Any) -> dict[str, Any] | None:
    """Change ``name``, ``themes``, ``types``, ``scopes`` and/or ``status`` of one
    subscriber; returns the row after the change (None when there is none)."""
    unknown = set(changes) - {*CHOICE_FIELDS, "status"}
    if unknown:
        raise ValueError(f"update_subscriber: unknown field(s) {sorted(unknown)}")
    with store.begin() as conn:
        row = conn.execute(select(subscribers).where(subscribers.c.id == subscriber_id)).first()
        if row is None:
            return None
        values = {k: v for k, v in changes.items() if k != "status"}
        if "status" in changes and changes["status"] != row.status:
            values.update(_status_values(changes["status"], row.status))
        if values:
            conn.execute(
                update(subscribers).where(subscribers.c.id == subscriber_id).values(**values)
            )
    return get_subscriber(store, subscriber_id=subscriber_id)


def save_subscribers(store: Store, rows: Iterable[dict[str, Any]]) -> dict[str, str]:
    """Add or update many subscribers in one transaction (all or nothing).

    Each row has ``email`` and the CHOICE_FIELDS; an active or paused address gets
    the row's choices, an unsubscribed one is left as it is (only they can come
    back, through the form). Returns {email: added|updated|unchanged|unsubscribed}.
    """
    outcome: dict[str, str] = {}
    with store.begin() as conn:
        for row in rows:
            email = row["email"]
            found = conn.execute(select(subscribers).where(_same_address(email))).first()
            choices = {k: row.get(k) or ([] if k != "name" else "") for k in CHOICE_FIELDS}
            if found is not None and not choices["name"]:
                choices["name"] = found.name  # no name given: keep the one we have
            if found is None:
                _insert(conn, email, created_at=row.get("created_at"), **choices)
                outcome[email] = "added"
            elif found.status == "unsubscribed":
                outcome[email] = "unsubscribed"
            elif all(getattr(found, k) == v for k, v in choices.items()):
                outcome[email] = "unchanged"
            else:
                conn.execute(
                    update(subscribers).where(subscribers.c.id == found.id).values(**choices)
                )
                outcome[email] = "updated"
    return outcome


def delete_subscriber(store: Store, email: str) -> bool:
    with store.begin() as conn:
        result = conn.execute(subscribers.delete().where(_same_address(email)))
    return result.rowcount > 0


# --- subscription requests (double opt-in) -------------------------------------


def insert_request(
    store: Store, *, email: str, themes: list[str], types: list[str], scopes: list[str]
) -> dict[str, Any]:
    values = {
        "key": new_key(),
        "email": email,
        "themes": themes,
        "types": types,
        "scopes": scopes,
        "created_at": utcnow(),
    }
    with store.begin() as conn:
        values["id"] = conn.execute(
            insert(subscription_requests).values(**values)
        ).inserted_primary_key[0]
    return values


def _like_literal(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def count_requests(store: Store, email: str, since: datetime) -> int:
    """Requests for this mailbox since ``since``: the per-address limit. Any case,
    and any ``+tag`` (``nom+1@x``, ``nom+2@x`` and ``nom@x`` reach one mailbox at
    most providers: counted apart, a single client could flood it)."""
    local, _, domain = email.strip().lower().rpartition("@")
    base = local.split("+", 1)[0]
    address = func.lower(subscription_requests.c.email)
    tagged = f"{_like_literal(base)}+%@{_like_literal(domain)}"
    with store.connect() as conn:
        return int(
            conn.execute(
                select(func.count())
                .select_from(subscription_requests)
                .where(
                    or_(address == f"{base}@{domain}", address.like(tagged, escape="\\")),
                    subscription_requests.c.created_at >= since,
                )
            ).scalar_one()
        )


def get_request(store: Store, key: str) -> dict[str, Any] | None:
    with store.connect() as conn:
        row = conn.execute(
            select(subscription_requests).where(subscription_requests.c.key == key)
        ).first()
    return dict(row._mapping) if row else None


def confirm_request(store: Store, key: str, *, created_at: datetime | None = None) -> int | None:
    """Create the subscriber of a pending request, or give an existing one (left,
    paused or active) the request's choices, active; one transaction. Returns the
    subscriber's id, None when the request is unknown or was confirmed already."""
    now = utcnow()
    with store.begin() as conn:
        request = conn.execute(
            select(subscription_requests).where(
                subscription_requests.c.key == key,
                subscription_requests.c.confirmed_at.is_(None),
            )
        ).first()
        if request is None:
            return None
        conn.execute(
            update(subscription_requests)
            .where(subscription_requests.c.id == request.id)
            .values(confirmed_at=now)
        )
        choices = {"themes": request.themes, "types": request.types, "scopes": request.scopes}
        found = conn.execute(select(subscribers).where(_same_address(request.email))).first()
        if found is None:
            return _insert(conn, request.email, "", created_at=created_at or now, **choices)
        values = {**choices, **_status_values("active", found.status)}
        conn.execute(update(subscribers).where(subscribers.c.id == found.id).values(**values))
        return int(found.id)


def purge_requests(store: Store, before: datetime) -> int:
    """Forget requests made before ``before`` (confirmed or not)."""
    with store.begin() as conn:
        result = conn.execute(
            subscription_requests.delete().where(subscription_requests.c.created_at < before)
        )
    return result.rowcount


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


def handed_over_count(store: Store, week: str, edition: int) -> int:
    """Messages of this edition handed to the mail server (or maybe): once there is
    one, the publication can no longer be taken back (``bulletins.unfreeze``)."""
    with store.connect() as conn:
        return conn.execute(
            select(func.count()).where(
                deliveries.c.week == week,
                deliveries.c.edition == edition,
                deliveries.c.status.in_(HANDED_OVER),
            )
        ).scalar_one()


# A message's states, in the order a send goes through them (then "nothing to send").
DELIVERY_STATUSES = ("pending", "sent", "failed", "uncertain", "skipped")


def delivery_counts(store: Store, week: str | None = None) -> tuple[str | None, dict[str, int]]:
    """The week (``week``, else the latest with a delivery row) and its rows per status."""
    with store.connect() as conn:
        if week is None:
            week = conn.execute(select(func.max(deliveries.c.week))).scalar()
            if week is None:
                return None, {}
        rows = conn.execute(
            select(deliveries.c.status, func.count())
            .where(deliveries.c.week == week)
            .group_by(deliveries.c.status)
        )
        return week, {status: count for status, count in rows}


def _new_row(
    week: str,
    edition: int,
    subscriber_id: int,
    email: str,
    status: str,
    attempts: int,
    items: int,
    now: datetime,
) -> dict[str, Any]:
    return {
        "week": week,
        "edition": edition,
        "subscriber_id": subscriber_id,
        "email": email,
        "status": status,
        "attempts": attempts,
        "items": items,
        "created_at": now,
        "updated_at": now,
    }


class BulletinWithdrawn(DeliveryError):
    """The edition being sent was unpublished (or unpublished and published again)
    during the run: nothing of it went out, and the run must stop."""


def _still_published(conn: Any, week: str, edition: int, published_at: datetime) -> None:
    """Raise BulletinWithdrawn unless the edition is still the publication of
    ``published_at``; holds the week's lock (bulletins.unfreeze takes it too)."""
    from watcher.store.bulletins import bulletins

    lock_key(conn, "bulletin", week)
    row = conn.execute(
        select(bulletins.c.status, bulletins.c.published_at).where(
            bulletins.c.week == week, bulletins.c.edition == edition
        )
    ).first()
    if row is None or row.status != "published" or row.published_at != published_at:
        raise BulletinWithdrawn(
            f"bulletin {week} edition {edition} was withdrawn during the send "
            "(unpublished, or published again since): the run stopped, nothing of it was sent",
            hint=f"send it again once it is published: watcher send --week {week}",
        )


def _is_active(conn: Any, subscriber_id: int) -> bool:
    status = conn.execute(
        select(subscribers.c.status).where(subscribers.c.id == subscriber_id)
    ).scalar()
    return status == "active"


def begin_attempt(
    store: Store,
    *,
    week: str,
    edition: int,
    subscriber_id: int,
    email: str,
    items: int,
    seen: dict[str, Any] | None = None,
    published_at: datetime | None = None,
) -> dict[str, Any] | None:
    """Mark the message ``pending`` and count the attempt, committed before any send.

    ``seen`` is the row as the sender read it before deciding to send (None: no row).
    The row is claimed only if it is still as seen: when another sender got there
    first (two `watcher send` at once), None is returned and nothing is sent twice.
    None too when the subscriber is no longer active (unsubscribed or paused while
    the run went through the list). Returns the row as it is now (attempts already
    incremented).

    ``published_at``: the publication the message was built from; when the edition
    was withdrawn (or withdrawn and published again) since, BulletinWithdrawn.
    """
    now = utcnow()
    key = (
        deliveries.c.week == week,
        deliveries.c.edition == edition,
        deliveries.c.subscriber_id == subscriber_id,
    )
    with store.begin() as conn:
        if published_at is not None:
            _still_published(conn, week, edition, published_at)
        if not _is_active(conn, subscriber_id):
            return None
        row = conn.execute(select(deliveries).where(*key).with_for_update()).first()
        if row is None:
            if seen is not None:
                return None
            claimed = insert_or_ignore(
                conn,
                deliveries,
                _new_row(week, edition, subscriber_id, email, "pending", 1, items, now),
            )
            if not claimed:
                return None
        else:
            if seen is None or (row.status, row.attempts) != (seen["status"], seen["attempts"]):
                return None
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
        found = conn.execute(select(deliveries).where(*key)).first()
    return dict(found._mapping)


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
    published_at: datetime | None = None,
) -> None:
    """A final row in one step (``skipped``: nothing for their themes), kept if present.
    ``published_at`` as for ``begin_attempt``."""
    now = utcnow()
    with store.begin() as conn:
        if published_at is not None:
            _still_published(conn, week, edition, published_at)
        row = _new_row(week, edition, subscriber_id, email, status, 0, items, now)
        insert_or_ignore(conn, deliveries, {**row, "message_id": message_id})
