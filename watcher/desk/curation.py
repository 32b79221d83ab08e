"""Curators' actions on a week's bulletin, each saved at once and undoable.

Every action goes through ``apply_changes``: it checks every value of the form
first (labels must be ids of the settings' taxonomy, dates must parse), then
writes them all in one transaction (through ``watcher.store.bulletins`` for
bulletin entries, ``watcher.store.labels.set_override`` for labels) and records
one decision per changed field (who, when, week, item, field, before, after).
A refused value saves nothing of its form. ``undo`` re-applies ``before``
through the same path and records that too.
"""

from __future__ import annotations

from datetime import date
from typing import Any

from watcher.base.taxonomy import taxonomy_for
from watcher.exceptions import PublishError, WatcherError
from watcher.models import EventInfo
from watcher.publish.bulletin import candidates, publish_bulletin
from watcher.settings import Settings
from watcher.store import Store
from watcher.store import bulletins as store_bulletins
from watcher.store import desk as desk_store
from watcher.store import labels as store_labels

ENTRY_FIELDS = ("status", "pinned", "title", "summary")
LABEL_FIELDS = ("type", "themes", "axes", "scope", "deadline", "event")
UNDOABLE = set(ENTRY_FIELDS) | {f"labels.{f}" for f in LABEL_FIELDS} | {"order", "editorial"}
_GROUPS = {"labels.type": "types", "labels.scope": "scopes"}
_MULTI = {"labels.themes": "themes", "labels.axes": "axes"}
EDITORIAL_MAX = 4000
# What the collect stage keeps of a source's title and summary: a curator's text is
# held to the same, so a pasted page does not become a bulletin's headline.
TEXT_MAX = {"title": 1000, "summary": 5000}


class CurationError(WatcherError):
    """An action the desk refuses (published week, unknown item, bad value)."""


class ChangedSince(CurationError):
    """An undo refused: the field was changed after the decision (by ``by``), so
    putting back its value before would silently discard that later change."""

    def __init__(self, decision_id: int, field: str, by: str | None) -> None:
        super().__init__(
            f"decision {decision_id}: {field} was changed since" + (f" by {by}" if by else ""),
            hint="undo the later change first, or edit the field directly",
        )
        self.field = field
        self.by = by


def _same(field: str, a: Any, b: Any) -> bool:
    """Two values of a field as stored are the same (themes and axes: as sets)."""
    if field in _MULTI:
        return sorted(set(a or [])) == sorted(set(b or []))
    if field == "status":
        return (a or "candidate") == (b or "candidate")
    if field in ("title", "summary", "labels.type", "labels.scope", "labels.deadline"):
        return (a or None) == (b or None)
    if field == "editorial":
        return (a or "") == (b or "")
    if field == "pinned":
        return bool(a) == bool(b)
    return a == b


class EditedMeanwhile(CurationError):
    """A form refused: a field it changes was changed by someone else after the
    form was shown (``fields``: field -> who, or None when unknown)."""

    def __init__(self, item_id: int | None, fields: dict[str, str | None]) -> None:
        super().__init__(
            f"item {item_id}: {', '.join(fields)} changed since the form was shown",
            hint="reload the item and make the change again",
        )
        self.fields = fields


def _last_author(store: Store, week: str, item_id: int | None, field: str) -> str | None:
    for decision in desk_store.list_decisions(store, week=week, item_id=item_id, limit=500):
        if decision["field"] == field:
            return decision["user"]
    return None


def _shown(field: str, value: Any, settings: Settings) -> Any:
    """A value the form showed, as stored (as given when it no longer validates)."""
    try:
        return normalise(field, value, settings)
    except CurationError:
        return sorted(set(value or [])) if field in _MULTI else value


def _changed_by(store: Store, decision: dict[str, Any]) -> str | None:
    """Who made the latest decision on the same item and field after ``decision``."""
    later = [
        d
        for d in desk_store.list_decisions(
            store, week=decision["week"], item_id=decision["item_id"], limit=500
        )
        if d["id"] > decision["id"] and d["field"] == decision["field"]
    ]
    return later[0]["user"] if later else None


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
        "event": rows[0].get("event"),
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


def _refuse_if_published(store: Store, week: str) -> None:
    if store_bulletins.is_published(store, week):
        raise PublishError(f"bulletin {week} is published", hint="open a new edition to correct it")


def _write(store: Store, week: str, item_id: int, field: str, value: Any, user: str) -> None:
    if field in ENTRY_FIELDS:
        store_bulletins.set_entry(store, week, item_id, user=user, **{field: value})
    elif field.startswith("labels."):
        _refuse_if_published(store, week)
        # Only the field the curator set: the model keeps the others.
        labels: dict[str, Any] = {field.removeprefix("labels."): value}
        if value and field in ("labels.type", "labels.themes"):
            labels["relevant"] = True  # a curator who types or themes an item means it
        store_labels.set_override(store, item_id, labels, user)
    elif field == "order":
        for other_id, position in (value or {}).items():
            store_bulletins.set_entry(store, week, int(other_id), user=user, position=position)
    elif field == "editorial":
        store_bulletins.set_editorial(store, week, value, user=user)
    else:
        raise CurationError(f"unknown field {field!r}")


def normalise(field: str, value: Any, settings: Settings) -> Any:
    """The value as stored; CurationError (naming the field) when it is not allowed."""
    if field == "status" and value not in ("candidate", "kept", "dropped"):
        raise CurationError(f"status {value!r}: expected candidate, kept or dropped")
    if field == "pinned":
        return bool(value)
    if field in ("title", "summary"):
        value = (value or "").strip()
        if len(value) > TEXT_MAX[field]:
            raise CurationError(f"{field}: at most {TEXT_MAX[field]} characters")
        return value or None  # empty: back to the item's own text
    taxonomy = taxonomy_for(settings)
    if field in _MULTI:
        values = sorted({v for v in value or [] if v})
        unknown = [v for v in values if v not in taxonomy.ids(_MULTI[field])]
        if unknown:
            raise CurationError(f"label {field.removeprefix('labels.')} {unknown[0]!r}: unknown")
        return values
    if field in _GROUPS:
        if value and value not in taxonomy.ids(_GROUPS[field]):
            raise CurationError(f"label {field.removeprefix('labels.')} {value!r}: unknown")
        return value or None
    if field == "labels.deadline":
        if not value:
            return None
        try:
            return date.fromisoformat(str(value)).isoformat()
        except ValueError:
            raise CurationError(f"deadline {value!r}: expected a date YYYY-MM-DD") from None
    if field == "labels.event":
        if not value:
            return None
        try:
            return EventInfo.from_dict(value).to_dict()
        except ValueError as exc:
            raise CurationError(str(exc)) from None
    if field == "editorial":
        text = (value or "").replace("\r\n", "\n").strip()
        if len(text) > EDITORIAL_MAX:
            raise CurationError(f"editorial: at most {EDITORIAL_MAX} characters")
        return text
    return value


def _before(store: Store, week: str, item_id: int | None, field: str, value: Any) -> Any:
    if field.startswith("labels."):
        return current_labels(store, item_id or 0)[field.removeprefix("labels.")]
    if field == "order":
        entries = store_bulletins.entries(store, week)
        return {str(i): (entries.get(int(i)) or {}).get("position") for i in value}
    if field == "editorial":
        return store_bulletins.editorial(store, week)
    return _entry_value(store, week, item_id or 0, field)


def apply_changes(
    store: Store,
    week: str,
    item_id: int | None,
    changes: list[tuple[str, Any]],
    *,
    user: str,
    settings: Settings,
    before: dict[str, Any] | None = None,
    seen: list[tuple[str, Any]] | None = None,
) -> list[int]:
    """Save a form's changes all together (or none) and log each; returns the
    decision ids (none for a field that did not change). ``before`` gives a
    field's value before when the caller knows it better (a reorder).

    ``seen``: the values the form showed (the desk's edit forms send them). A
    field left as shown is not a change, so a form does not put back what another
    curator changed meanwhile in the fields its user did not touch; a field
    changed both here and by someone else since is a conflict (EditedMeanwhile:
    nothing of the form is saved)."""
    values = [(field, normalise(field, value, settings)) for field, value in changes]
    shown = {field: _shown(field, value, settings) for field, value in seen or []}
    decisions: list[int] = []
    conflicts: dict[str, str | None] = {}
    with store.transaction():
        for field, value in values:
            if field in shown and _same(field, value, shown[field]):
                continue  # left as the form showed it: not this curator's change
            if field in ENTRY_FIELDS or field == "order":
                ensure_curated(store, week, settings, user)
            if before and field in before:
                old = before[field]
            else:
                old = _before(store, week, item_id, field, value)
            if field in shown and not _same(field, old, shown[field]):
                if not _same(field, old, value):
                    conflicts[field] = _last_author(store, week, item_id, field)
                continue  # changed since, by someone else: this form's value is stale
            if old == value:
                continue
            _write(store, week, item_id or 0, field, value, user)
            decisions.append(
                desk_store.record_decision(
                    store,
                    user=user,
                    week=week,
                    item_id=item_id,
                    field=field,
                    before=old,
                    after=value,
                )
            )
        if conflicts:
            raise EditedMeanwhile(item_id, conflicts)  # rolls back the whole form
    return decisions


def apply_change(
    store: Store, week: str, item_id: int, field: str, value: Any, *, user: str, settings: Settings
) -> int | None:
    """One change (see ``apply_changes``); the decision id, None when nothing changed."""
    ids = apply_changes(store, week, item_id, [(field, value)], user=user, settings=settings)
    return ids[0] if ids else None


def apply_bulk(
    store: Store, week: str, item_ids: list[int], status: str, *, user: str, settings: Settings
) -> list[int]:
    """Keep or drop several items at once, in one transaction."""
    decisions: list[int] = []
    with store.transaction():
        for item_id in item_ids:
            decisions += apply_changes(
                store, week, item_id, [("status", status)], user=user, settings=settings
            )
    return decisions


def add_to_week(
    store: Store, week: str, item_id: int, *, user: str, settings: Settings
) -> int | None:
    """Pull an item (found by search, from any week) into this week's bulletin."""
    return apply_change(store, week, item_id, "status", "kept", user=user, settings=settings)


def move(
    store: Store, week: str, item_id: int, direction: int, *, user: str, settings: Settings
) -> int | None:
    """Move an item up (-1) or down (+1) among the kept items of its section. The
    decision keeps every position before and after (0-based ranks), so the log
    reads "ordre : 3 → 2" and undo restores the order seen before."""
    from watcher.publish.bulletin import build_bulletin

    with store.transaction():
        ensure_curated(store, week, settings, user)
        for section in build_bulletin(store, week, settings).sections:
            ids = [e.item_id for e in section.entries]
            if item_id not in ids:
                continue
            index = ids.index(item_id)
            target = index + direction
            if not 0 <= target < len(ids):
                return None
            before = {str(i): pos for pos, i in enumerate(ids)}
            ids[index], ids[target] = ids[target], ids[index]
            order = {str(i): pos for pos, i in enumerate(ids)}
            found = apply_changes(
                store,
                week,
                item_id,
                [("order", order)],
                user=user,
                settings=settings,
                before={"order": before},
            )
            return found[0] if found else None
    raise CurationError(f"item {item_id} is not in the bulletin of {week}: keep it first")


def set_editorial(
    store: Store,
    week: str,
    text: str,
    *,
    user: str,
    settings: Settings,
    seen: str | None = None,
) -> int | None:
    """The week's editorial ("le mot de l'équipe"), Markdown; kept with the edition.
    ``seen``: the text the form showed (EditedMeanwhile when both changed it)."""
    ids = apply_changes(
        store,
        week,
        None,
        [("editorial", text)],
        user=user,
        settings=settings,
        seen=None if seen is None else [("editorial", seen)],
    )
    return ids[0] if ids else None


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
        value = dict(value or {})
    elif field == "status" and value is None:
        value = "candidate"
    with store.transaction():
        current = _before(store, week, item_id, field, value)
        if not _same(field, current, decision["after"]):
            # Changed since (another curator, a later decision): putting back the value
            # before would discard that change without anyone seeing it.
            raise ChangedSince(decision_id, field, _changed_by(store, decision))
        _write(store, week, item_id or 0, field, value, user)
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


def publish_week(
    store: Store, week: str, *, user: str, settings: Settings, expected: int | None = None
) -> int:
    """Freeze the bulletin (the current edition) and log it; returns the edition.
    ``expected``: the draft edition the curator saw (refused when another one is current)."""
    edition = publish_bulletin(store, week, user, settings, expected=expected)
    desk_store.record_decision(
        store, user=user, week=week, field="publish", before=None, after=edition
    )
    return edition


def withdraw_week(store: Store, week: str, *, user: str, expected: int | None = None) -> int:
    """Take back a publication nobody was sent yet (the edition is a draft again);
    ``expected``: the published edition the curator saw."""
    edition = store_bulletins.unfreeze(store, week, expected=expected)
    desk_store.record_decision(
        store, user=user, week=week, field="unpublish", before=edition, after=None
    )
    return edition


def open_new_edition(store: Store, week: str, *, user: str, expected: int | None = None) -> int:
    """Open the next draft; ``expected``: the published edition the curator saw."""
    edition = store_bulletins.new_edition(store, week, user, expected=expected)
    desk_store.record_decision(
        store, user=user, week=week, field="new_edition", before=edition - 1, after=edition
    )
    return edition
