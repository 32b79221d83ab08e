"""Curators' actions on a week's bulletin, each saved at once and undoable.

Every action goes through ``apply_change``: it reads the value before, writes
the value after (through ``watcher.store.bulletins`` for bulletin entries,
``watcher.store.labels.set_override`` for labels) and records a decision
(who, when, week, item, field, before, after). ``undo`` re-applies ``before``
through the same path and records that too.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from watcher.exceptions import PublishError, WatcherError
from watcher.publish.bulletin import candidates, publish_bulletin
from watcher.settings import Settings
from watcher.store import Store
from watcher.store import bulletins as store_bulletins
from watcher.store import desk as desk_store
from watcher.store import labels as store_labels

ENTRY_FIELDS = ("status", "pinned", "title", "summary")
LABEL_FIELDS = ("type", "themes", "axes", "scope", "deadline")
UNDOABLE = set(ENTRY_FIELDS) | {f"labels.{f}" for f in LABEL_FIELDS} | {"order"}


class CurationError(WatcherError):
    """An action the desk refuses (published week, unknown item, bad value)."""


def current_labels(store: Store, item_id: int) -> dict[str, Any]:
    rows = store_bulletins.load_items(store, ids=[item_id])
    if not rows:
        raise CurationError(f"no item with id {item_id}")
    labels = rows[0]["labels"] or {}
    return {
        "relevant": bool(labels.get("relevant")),
        "type": labels.get("type"),
        "themes": list(labels.get("themes") or []),
        "axes": list(labels.get("axes") or []),
        "scope": labels.get("scope"),
        "deadline": labels.get("deadline"),
    }


def ensure_curated(store: Store, week: str, settings: Settings, user: str) -> None:
    """Before the first change of an untouched week, keep what the automatic
    selection would publish: one click must not empty the bulletin."""
    if store_bulletins.is_curated(store, week):
        return
    for row in candidates(store, week, settings):
        if row["auto"]:
            store_bulletins.set_entry(store, week, row["id"], user=user, status="kept")


def _entry_value(store: Store, week: str, item_id: int, field: str) -> Any:
    entry = store_bulletins.entries(store, week).get(item_id)
    if entry is None:
        return {"status": "candidate", "pinned": False}.get(field)
    value = entry.get(field)
    return bool(value) if field == "pinned" else value


def _write(store: Store, week: str, item_id: int, field: str, value: Any, user: str) -> None:
    if field in ENTRY_FIELDS:
        store_bulletins.set_entry(store, week, item_id, user=user, **{field: value})
    elif field.startswith("labels."):
        if store_bulletins.is_published(store, week):
            raise PublishError(
                f"bulletin {week} is published", hint="open a new edition to correct it"
            )
        # Only the field the curator set: the model keeps the others.
        labels: dict[str, Any] = {field.removeprefix("labels."): value}
        if value and field in ("labels.type", "labels.themes"):
            labels["relevant"] = True  # a curator who types or themes an item means it
        store_labels.set_override(store, item_id, labels, user)
    elif field == "order":
        for other_id, position in (value or {}).items():
            store_bulletins.set_entry(store, week, int(other_id), user=user, position=position)
    else:
        raise CurationError(f"unknown field {field!r}")


def _normalise(field: str, value: Any) -> Any:
    if field == "status" and value not in ("candidate", "kept", "dropped"):
        raise CurationError(f"status {value!r}: expected candidate, kept or dropped")
    if field == "pinned":
        return bool(value)
    if field in ("title", "summary"):
        value = (value or "").strip()
        return value or None  # empty: back to the item's own text
    if field in ("labels.themes", "labels.axes"):
        return sorted({v for v in value or [] if v})
    if field in ("labels.type", "labels.scope"):
        return value or None
    if field == "labels.deadline":
        if not value:
            return None
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise CurationError(f"deadline {value!r}: expected a date YYYY-MM-DD") from None
    return value


def apply_change(
    store: Store,
    week: str,
    item_id: int,
    field: str,
    value: Any,
    *,
    user: str,
    settings: Settings,
) -> int | None:
    """Save one change and log it; returns the decision id (None when nothing changed)."""
    value = _normalise(field, value)
    if field in ENTRY_FIELDS or field == "order":
        ensure_curated(store, week, settings, user)
    if field.startswith("labels."):
        before = current_labels(store, item_id)[field.removeprefix("labels.")]
    elif field == "order":
        entries = store_bulletins.entries(store, week)
        before = {str(i): (entries.get(int(i)) or {}).get("position") for i in value}
    else:
        before = _entry_value(store, week, item_id, field)
    if before == value:
        return None
    _write(store, week, item_id, field, value, user)
    return desk_store.record_decision(
        store, user=user, week=week, item_id=item_id, field=field, before=before, after=value
    )


def add_to_week(
    store: Store, week: str, item_id: int, *, user: str, settings: Settings
) -> int | None:
    """Pull an item (found by search, from any week) into this week's bulletin."""
    return apply_change(store, week, item_id, "status", "kept", user=user, settings=settings)


def move(
    store: Store, week: str, item_id: int, direction: int, *, user: str, settings: Settings
) -> int | None:
    """Move an item up (-1) or down (+1) among the kept items of its section."""
    ensure_curated(store, week, settings, user)
    bulletin = _draft_sections(store, week, settings)
    for section in bulletin:
        ids = [e.item_id for e in section.entries]
        if item_id not in ids:
            continue
        index = ids.index(item_id)
        target = index + direction
        if not 0 <= target < len(ids):
            return None
        ids[index], ids[target] = ids[target], ids[index]
        order = {str(i): pos for pos, i in enumerate(ids)}
        return apply_change(store, week, item_id, "order", order, user=user, settings=settings)
    raise CurationError(f"item {item_id} is not in the bulletin of {week}: keep it first")


def _draft_sections(store: Store, week: str, settings: Settings) -> list[Any]:
    from watcher.publish.bulletin import build_bulletin

    return build_bulletin(store, week, settings).sections


def undo(store: Store, decision_id: int, *, user: str) -> int:
    """Re-apply the value before a decision; returns the id of the undo's own decision."""
    decision = desk_store.get_decision(store, decision_id)
    if decision is None:
        raise CurationError(f"no decision {decision_id}")
    if decision["undone_at"] is not None:
        raise CurationError(f"decision {decision_id} was already undone")
    if decision["field"] not in UNDOABLE:
        raise CurationError(f"a '{decision['field']}' decision cannot be undone")
    week, item_id, field = decision["week"], decision["item_id"], decision["field"]
    value = decision["before"]
    if field == "order":
        value = {k: v for k, v in (value or {}).items()}
    elif field == "status" and value is None:
        value = "candidate"
    current: Any
    if field.startswith("labels."):
        current = current_labels(store, item_id)[field.removeprefix("labels.")]
    elif field == "order":
        entries = store_bulletins.entries(store, week)
        current = {k: (entries.get(int(k)) or {}).get("position") for k in value}
    else:
        current = _entry_value(store, week, item_id, field)
    _write(store, week, item_id, field, value, user)
    return desk_store.record_decision(
        store,
        user=user,
        week=week,
        item_id=item_id,
        field=field,
        before=current,
        after=value,
        undo_of=decision_id,
    )


def publish_week(store: Store, week: str, *, user: str, settings: Settings) -> int:
    """Freeze the bulletin (the current edition) and log it; returns the edition."""
    edition = publish_bulletin(store, week, user, settings)
    desk_store.record_decision(
        store, user=user, week=week, field="publish", before=None, after=edition
    )
    return edition


def open_new_edition(store: Store, week: str, *, user: str) -> int:
    edition = store_bulletins.new_edition(store, week, user)
    desk_store.record_decision(
        store, user=user, week=week, field="new_edition", before=edition - 1, after=edition
    )
    return edition
