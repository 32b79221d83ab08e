"""What goes in a week's bulletin, and how an item becomes a bulletin entry.

Automatic selection: the relevant items first seen in the week, with a
relevance score at or above ``publish.score_threshold``, best first, at most
``publish.cap_per_section`` per section; calls for projects already closed on
the issue date are left out. Curated selection: the entries the curators kept
or pinned, in their position order (no cap: the curators chose).
"""

from __future__ import annotations

from dataclasses import replace
from datetime import date, datetime
from typing import Any

from watcher.base.clean import sane_moment
from watcher.base.clock import PARIS
from watcher.base.taxonomy import taxonomy_for
from watcher.base.vocabulary import TYPES
from watcher.base.weeks import issue_date
from watcher.models import EventInfo
from watcher.publish.model import Entry, Section
from watcher.publish.sanitize import first_sentences, plain_text, safe_url
from watcher.settings import Settings

# Sections after "À la une", in the bulletin's order: one per item type.
SECTION_ORDER = TYPES
UNE = "À la une"
# The types whose items have dates and a place of their own (``Labels.event``).
EVENT_TYPES = ("evenement", "formation")
PLACE_CHARS = 200


def as_date(value: Any) -> date | None:
    if isinstance(value, datetime):
        # A date out of range (9999-12-31, stored before collect dropped such dates)
        # counts as none: its Paris day may not even exist, and the caller falls back.
        moment = sane_moment(value)
        return moment.astimezone(PARIS).date() if moment else None
    if isinstance(value, date):
        return value
    if isinstance(value, str) and value:
        try:
            return date.fromisoformat(value[:10])
        except ValueError:
            return None
    return None


def event_of(row: dict[str, Any]) -> EventInfo | None:
    """The dates and place of an event or a training (the row's effective ``event``)."""
    data = row.get("event")
    if not data or (row.get("labels") or {}).get("type") not in EVENT_TYPES:
        return None
    try:
        event = data if isinstance(data, EventInfo) else EventInfo.from_dict(data)
    except ValueError:
        return None  # the store checks what it keeps: a bad value is dropped, not published
    place = plain_text(event.place)[:PLACE_CHARS] or None  # found in the source's text
    return replace(event, place=place) if place != event.place else event


def make_entry(row: dict[str, Any], ref: date, entry: dict | None = None) -> Entry:
    """An item dict (as ``store.bulletins.load_items``) as a bulletin entry."""
    labels = row.get("labels") or {}
    summary = ""
    if entry and entry.get("summary"):
        summary = plain_text(entry["summary"])
    if not summary:
        summary = first_sentences(row.get("summary") or "", 3)
    if not summary:
        summary = first_sentences(row.get("text") or "", 3)
    title = plain_text((entry or {}).get("title") or row.get("title")) or "(sans titre)"
    deadline = as_date(labels.get("deadline"))
    return Entry(
        item_id=row["id"],
        uid=row["uid"],
        title=title,
        url=safe_url(row.get("url")),
        type=labels.get("type"),
        themes=[t for t in labels.get("themes") or [] if isinstance(t, str)],
        scope=labels.get("scope"),
        sources=[plain_text(s) for s in row.get("source_names") or row.get("sources") or []],
        date=as_date(row.get("published")) or as_date(row.get("first_seen")),
        summary=summary,
        deadline=deadline,
        days_left=(deadline - ref).days if deadline else None,
        event=event_of(row),
        pinned=bool(entry and entry.get("pinned")),
        score=float(row.get("score") or 0.0),
    )


def is_closed(entry: Entry) -> bool:
    return entry.type == "appel_a_projets" and entry.days_left is not None and entry.days_left < 0


def _sort_section(kind: str, entries: list[Entry], curated: bool) -> list[Entry]:
    if kind == "appel_a_projets":
        # By closing date; calls with no stated deadline (standing schemes) last.
        return sorted(entries, key=lambda e: (e.deadline is None, e.deadline or date.max))
    if kind in EVENT_TYPES:  # the agenda by start (time included), undated last
        return sorted(entries, key=lambda e: _start_key(e) or (date.max, "", e.item_id))
    if curated:
        return entries
    return sorted(entries, key=lambda e: -e.score)


def _start_key(entry: Entry) -> tuple | None:
    if entry.event is None:
        return None
    start = entry.event.start
    clock = start.strftime("%H:%M") if isinstance(start, datetime) else ""
    return (entry.event_date, clock, entry.item_id)


def auto_selection(
    rows: list[dict[str, Any]], week: str, settings: Settings
) -> list[dict[str, Any]]:
    """The rows the automatic selection keeps (before sectioning), best score first."""
    threshold = settings.publish.score_threshold
    ref = issue_date(week)
    kept = []
    for row in sorted(rows, key=lambda r: (-(r.get("score") or 0.0), r["id"])):
        labels = row.get("labels") or {}
        if not labels.get("relevant") or labels.get("type") not in SECTION_ORDER:
            continue
        if (row.get("score") or 0.0) < threshold:
            continue
        deadline = as_date(labels.get("deadline"))
        if labels.get("type") == "appel_a_projets" and deadline and deadline < ref:
            continue
        kept.append(row)
    cap = settings.publish.cap_per_section
    counts: dict[str, int] = {}
    capped = []
    for row in kept:
        kind = row["labels"]["type"]
        if counts.get(kind, 0) < cap:
            counts[kind] = counts.get(kind, 0) + 1
            capped.append(row)
    return capped


def build_sections(
    rows: list[dict[str, Any]],
    week: str,
    curated_entries: dict[int, dict] | None,
    settings: Settings,
) -> list[Section]:
    """Sections in the bulletin's order; empty ones are kept (renderers skip them)."""
    ref = issue_date(week)
    curated = curated_entries is not None
    if curated:
        chosen = [
            r
            for r in rows
            if r["id"] in curated_entries
            and (curated_entries[r["id"]]["status"] == "kept" or curated_entries[r["id"]]["pinned"])
        ]
        position = {
            i: (e.get("position") is None, e.get("position") or 0)
            for i, e in curated_entries.items()
        }
        chosen.sort(key=lambda r: (position[r["id"]], -(r.get("score") or 0.0), r["id"]))
    else:
        chosen = auto_selection(rows, week, settings)
    une: list[Entry] = []
    by_type: dict[str, list[Entry]] = {kind: [] for kind in SECTION_ORDER}
    for row in chosen:
        entry = make_entry(row, ref, (curated_entries or {}).get(row["id"]))
        if is_closed(entry):
            continue
        if entry.pinned:
            une.append(entry)
        elif entry.type in by_type:
            by_type[entry.type].append(entry)
        elif curated:
            by_type["actualite"].append(entry)  # a kept item the classifier gave no type
    titles = section_titles(settings)
    sections = [Section("une", titles["une"], une)]
    for kind in SECTION_ORDER:
        sections.append(Section(kind, titles[kind], _sort_section(kind, by_type[kind], curated)))
    return sections


def section_titles(settings: Settings) -> dict[str, str]:
    """{"une": "À la une", type id: its section's title from the taxonomy}."""
    taxonomy = taxonomy_for(settings)
    return {"une": UNE, **{kind: taxonomy.section_title(kind) for kind in SECTION_ORDER}}
