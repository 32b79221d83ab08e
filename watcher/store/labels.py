"""Labels in the store: the model's, the curators' overrides, and what is pending."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from sqlalchemy import JSON, Column, ForeignKey, Integer, String, Table, delete, or_, select, update

from watcher.base.clock import utcnow
from watcher.models import EventInfo, Labels
from watcher.store import Store
from watcher.store.locking import upsert
from watcher.store.schema import UtcDateTime, item_labels, item_sources, items, metadata

LABEL_FIELDS = ("relevant", "type", "themes", "axes", "scope", "deadline")
# What a curator may correct: LABELS.md's labels and an event's dates and place.
OVERRIDE_FIELDS = (*LABEL_FIELDS, "event")

label_overrides = Table(
    "label_overrides",
    metadata,
    Column("item_id", Integer, ForeignKey("items.id", ondelete="CASCADE"), primary_key=True),
    Column("labels", JSON, nullable=False),  # only the fields a curator set
    Column("user", String(200), nullable=False),
    Column("updated_at", UtcDateTime, nullable=False, default=utcnow),
)


def _ids(item_ids: Iterable[int]) -> list[int]:
    return [int(i) for i in item_ids]


def _chunks(values: list[int], size: int = 900) -> Iterable[list[int]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


def save_labels(
    store: Store,
    results: Iterable[Any],
    *,
    model_version: str,
    input_hashes: Iterable[str],
) -> int:
    """Write the model's labels (``LabelResult``s whose ``id`` is the item id); upsert."""
    rows = []
    for result, input_hash in zip(results, input_hashes, strict=True):
        labels = result.labels.to_dict()
        event = labels.pop("event", None)  # its own column: `labels` stays LABELS.md's
        rows.append(
            {
                "item_id": int(result.id),
                "labels": labels,
                "event": event,
                "scores": result.scores,
                "explanations": {**result.explanations, "_reason": result.reason}
                if result.reason
                else result.explanations,
                "model_version": model_version,
                "input_hash": input_hash,
                "labelled_at": utcnow(),
            }
        )
    if not rows:
        return 0
    with store.begin() as conn:
        upsert(conn, item_labels, rows)
    return len(rows)


def confirm_labels(store: Store, item_ids: Iterable[int]) -> None:
    """Mark labels as checked now (item seen again, same input, same model)."""
    ids = _ids(item_ids)
    with store.begin() as conn:
        for chunk in _chunks(ids):
            conn.execute(
                update(item_labels)
                .where(item_labels.c.item_id.in_(chunk))
                .values(labelled_at=utcnow())
            )


def get_labels(store: Store, item_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """The model's labels with their metadata (``labels``, ``model_version``, ``labelled_at``…)."""
    out: dict[int, dict[str, Any]] = {}
    with store.connect() as conn:
        for chunk in _chunks(_ids(item_ids)):
            for row in conn.execute(select(item_labels).where(item_labels.c.item_id.in_(chunk))):
                out[row.item_id] = dict(row._mapping)
    return out


def get_scores(store: Store, item_ids: Iterable[int]) -> dict[int, dict[str, Any]]:
    """Scores and explanations: ``{item_id: {"scores": …, "explanations": …}}``."""
    return {
        item_id: {"scores": row["scores"], "explanations": row["explanations"]}
        for item_id, row in get_labels(store, item_ids).items()
    }


def _clean_override(labels: dict[str, Any]) -> dict[str, Any]:
    unknown = set(labels) - set(OVERRIDE_FIELDS)
    if unknown:
        raise ValueError(f"unknown label fields: {', '.join(sorted(unknown))}")
    out = dict(labels)
    if "event" in out:
        event = out["event"]
        if isinstance(event, EventInfo):
            out["event"] = event.to_dict()
        elif event:  # checked and normalised ("2027-03-12T09:30:00" → "2027-03-12T09:30")
            out["event"] = EventInfo.from_dict(event).to_dict()
        else:
            out["event"] = None  # the curator says: no event dates
    deadline = out.get("deadline")
    if deadline is not None and not isinstance(deadline, str):
        out["deadline"] = deadline.isoformat()
    if out.get("deadline") == "":
        out["deadline"] = None
    return out


def set_override(store: Store, item_id: int, labels: dict[str, Any], user: str) -> None:
    """A curator's correction; merged over earlier corrections of the same item.

    ``labels`` holds only the fields the curator set, among LABELS.md's labels
    and ``event`` (``EventInfo.to_dict()``'s shape or an ``EventInfo``; None
    clears the model's event). ValueError on an unknown field or a bad event.
    """
    labels = _clean_override(labels)
    with store.begin() as conn:
        # The item's row lock keeps two curators' corrections from losing one another.
        conn.execute(select(items.c.id).where(items.c.id == item_id).with_for_update())
        row = conn.execute(
            select(label_overrides.c.labels).where(label_overrides.c.item_id == item_id)
        ).first()
        merged = {**(row.labels if row else {}), **labels}
        conn.execute(delete(label_overrides).where(label_overrides.c.item_id == item_id))
        conn.execute(
            label_overrides.insert().values(
                item_id=item_id, labels=merged, user=user, updated_at=utcnow()
            )
        )


def get_overrides(store: Store, item_ids: Iterable[int] | None = None) -> dict[int, dict[str, Any]]:
    query = select(label_overrides)
    out: dict[int, dict[str, Any]] = {}
    with store.connect() as conn:
        if item_ids is None:
            rows = list(conn.execute(query))
        else:
            rows = []
            for chunk in _chunks(_ids(item_ids)):
                rows += list(conn.execute(query.where(label_overrides.c.item_id.in_(chunk))))
    for row in rows:
        out[row.item_id] = {"labels": row.labels, "user": row.user, "updated_at": row.updated_at}
    return out


def _merge(model: dict[str, Any] | None, override: dict[str, Any] | None) -> Labels:
    merged = {**(model or {"relevant": False}), **(override or {})}
    if not merged.get("relevant"):
        merged = {"relevant": False}
    return Labels.from_dict(merged)


def _model_labels(row: dict[str, Any]) -> dict[str, Any]:
    """The model's labels with its event (stored in a column of its own)."""
    return {**row["labels"], "event": row.get("event")}


def effective_labels(store: Store, item_ids: Iterable[int]) -> dict[int, Labels]:
    """Curators' overrides merged over the model's labels (and event), for items that
    have either."""
    ids = _ids(item_ids)
    model = {i: _model_labels(row) for i, row in get_labels(store, ids).items()}
    overrides = {i: row["labels"] for i, row in get_overrides(store, ids).items()}
    return {i: _merge(model.get(i), overrides.get(i)) for i in set(model) | set(overrides)}


def override_examples(store: Store) -> list[dict[str, Any]]:
    """Curators' corrections as training examples (text + effective labels)."""
    overrides = get_overrides(store)
    if not overrides:
        return []
    ids = sorted(overrides)
    model = {i: _model_labels(row) for i, row in get_labels(store, ids).items()}
    out = []
    with store.connect() as conn:
        for chunk in _chunks(ids):
            query = select(items.c.id, items.c.title, items.c.text, items.c.published).where(
                items.c.id.in_(chunk)
            )
            for row in conn.execute(query):
                labels = _merge(model.get(row.id), overrides[row.id]["labels"]).to_dict()
                labels.pop("event")  # rules find events: a corrected one teaches no model
                out.append(
                    {
                        "id": f"override:{row.id}",
                        "title": row.title or "",
                        "text": row.text or "",
                        "published": row.published.date().isoformat() if row.published else None,
                        "labels": labels,
                        "_origin": f"curators' correction of item {row.id}",
                    }
                )
    return [e for e in out if not e["labels"]["relevant"] or e["labels"].get("type")]


def pending_items(
    store: Store,
    model_version: str,
    *,
    after_id: int = 0,
    limit: int = 500,
    scan_all: bool = False,
) -> list[dict[str, Any]]:
    """Items (by id, after ``after_id``) that may need labels, with their current
    label version and input hash: no labels, another model version, or seen again
    since labelled (the collect stage bumps ``last_seen`` when it updates an item).
    ``scan_all`` returns every item (after a change of the sources' hints).

    The caller compares the input hash with the item's current one: a changed
    text is outdated even under the same model version.
    """
    query = (
        select(
            items.c.id,
            items.c.title,
            items.c.text,
            items.c.summary,
            items.c.published,
            item_labels.c.model_version,
            item_labels.c.input_hash,
        )
        .select_from(items.outerjoin(item_labels, item_labels.c.item_id == items.c.id))
        .where(items.c.id > after_id)
        .order_by(items.c.id)
        .limit(limit)
    )
    if not scan_all:
        query = query.where(
            or_(
                item_labels.c.item_id.is_(None),
                item_labels.c.model_version != model_version,
                item_labels.c.labelled_at < items.c.last_seen,
            )
        )
    with store.connect() as conn:
        rows = [dict(r._mapping) for r in conn.execute(query)]
        ids = [r["id"] for r in rows]
        sources: dict[int, list[str]] = {}
        if ids:
            for r in conn.execute(
                select(item_sources.c.item_id, item_sources.c.source_id).where(
                    item_sources.c.item_id.in_(ids)
                )
            ):
                sources.setdefault(r.item_id, []).append(r.source_id)
    for row in rows:
        row["sources"] = sorted(sources.get(row["id"], []))
        if row["published"] is not None:
            row["published"] = row["published"].isoformat()
    return rows
