"""The week's candidates as the triage view shows them: sections (one per type,
then the items whose type a curator cleared, then those the classifier left
without a section), each card's labels, why the
classifier gave them, its state and score band, and the filters.

week_sections(store, week, settings) -> [section dicts]
one_card(store, week, settings, item_id) -> card dict or None
Filters.from_query(params) / .matches(card)
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from watcher.base.weeks import issue_date
from watcher.desk.explain import explain
from watcher.publish.bulletin import candidates
from watcher.publish.selection import SECTION_ORDER, as_date, section_titles
from watcher.settings import Settings
from watcher.store import Store
from watcher.store import bulletins as store_bulletins
from watcher.store import desk as desk_store
from watcher.store import labels as store_labels

ORDERED_SECTIONS = {"une", "reglementation", "actualite", "formation", "publication"}
OTHERS = "autres"
# Items a curator took out of their section by clearing the type: the curators'
# choice, not the classifier's, so not listed under OTHERS' heading.
CLEARED = "type_retire"
CLEARED_TITLE = "Type retiré par l’équipe"
OTHERS_TITLE = "Non retenus par le classifieur"
EVENT_TYPES = ("evenement", "formation")
# Score bands of the filter: (id, French name, lowest score included).
BANDS = (
    ("haute", "haute (0,70 et plus)", 0.7),
    ("moyenne", "moyenne", 0.4),
    ("basse", "basse (moins de 0,40)", 0.0),
)
STATES = {"kept": "retenus", "dropped": "écartés", "new": "à trier"}
_RANK = {"kept": 0, "candidate": 1, "dropped": 2}


def band(score: float) -> str:
    return next(name for name, _label, low in BANDS if score >= low)


def card_state(status: str) -> str:
    """The filter's name for an effective status: kept, dropped or new (undecided)."""
    return {"kept": "kept", "dropped": "dropped"}.get(status, "new")


@dataclass(frozen=True)
class Filters:
    type: str = ""
    theme: str = ""
    band: str = ""
    state: str = ""

    @classmethod
    def from_query(cls, params: Any, taxonomy: Any) -> Filters:
        """Only known values are kept: anything else means "no filter"."""

        def pick(key: str, allowed: Any) -> str:
            value = str(params.get(key, "") or "")
            return value if value in allowed else ""

        return cls(
            type=pick("type", {*taxonomy.ids("types"), CLEARED, OTHERS}),
            theme=pick("theme", taxonomy.ids("themes")),
            band=pick("score", {name for name, _l, _s in BANDS}),
            state=pick("etat", STATES),
        )

    @property
    def active(self) -> bool:
        return bool(self.type or self.theme or self.band or self.state)

    def matches(self, card: dict[str, Any]) -> bool:
        return (
            (not self.type or card["section"] == self.type)
            and (not self.theme or self.theme in (card["labels"].get("themes") or []))
            and (not self.band or card["band"] == self.band)
            and (not self.state or card["state"] == self.state)
        )


def type_cleared(override: dict[str, Any] | None) -> bool:
    """Whether a curator's correction (``store.labels.get_overrides``' row) clears the type."""
    corrected = (override or {}).get("labels") or {}
    return "type" in corrected and not corrected["type"]


def _decorate(
    row: dict[str, Any],
    curated: bool,
    explanations: dict[str, Any],
    issued: date,
    override: dict[str, Any] | None = None,
) -> dict[str, Any]:
    labels = row.get("labels") or {}
    deadline = as_date(labels.get("deadline"))
    entry = row.get("entry") or {}
    status = row["status"] if curated else ("kept" if row.get("auto") else "candidate")
    why: dict[str, list[str]] = {}
    if labels.get("type"):
        why[f"type:{labels['type']}"] = explain(explanations, "type", labels["type"])
    for group in ("themes", "axes"):
        for label in labels.get(group) or []:
            why[f"{group}:{label}"] = explain(explanations, group, label)
    if labels.get("scope"):
        why[f"scope:{labels['scope']}"] = explain(explanations, "scope", labels["scope"])
    kind = labels.get("type") if labels.get("relevant") else None
    cleared = type_cleared(override)
    closed_call = (
        labels.get("type") == "appel_a_projets" and deadline is not None and deadline < issued
    )
    section = kind if kind in SECTION_ORDER else (CLEARED if cleared else OTHERS)
    return {
        **row,
        "labels": labels,
        "section": section,
        "type_cleared": cleared,
        "effective_status": status,
        "state": card_state(status),
        "band": band(row.get("score") or 0.0),
        "display_title": entry.get("title") or row.get("title") or "(sans titre)",
        "display_summary": entry.get("summary") or row.get("summary") or "",
        "title_override": entry.get("title") or "",
        "summary_override": entry.get("summary") or "",
        "why": why,
        "relevance_why": explain(explanations, "relevant", "relevant"),
        # only the quoted words the date was read from: the rest is the classifier's
        # own (English) trace, for `watcher label`, not for the French desk
        "deadline_why": [
            line for line in explain(explanations, "deadline", "deadline") if line.startswith("«")
        ],
        "event": row.get("event"),
        "shows_event": labels.get("type") in EVENT_TYPES,
        # The bulletin leaves out a call closed on its issue date (selection.is_closed),
        # kept or not: the card says so, or a mistyped year drops it without a word.
        "closed_call": closed_call,
        # what the bulletin will hold: a kept call closed on the issue date is left out
        "in_bulletin": card_state(status) == "kept" and not closed_call,
        "issue_date": issued,
    }


def _order(item: dict[str, Any]) -> tuple:
    position = item.get("position")
    return (
        not item["pinned"],
        _RANK[item["effective_status"]],
        position is None,
        position or 0,
        -item["score"],
    )


def week_cards(store: Store, week: str, settings: Settings) -> list[dict[str, Any]]:
    rows = candidates(store, week, settings)
    curated = store_bulletins.is_curated(store, week)
    ids = [r["id"] for r in rows]
    explanations = desk_store.get_explanations(store, ids)
    overrides = store_labels.get_overrides(store, ids)
    issued = issue_date(week)
    return [
        _decorate(r, curated, explanations.get(r["id"], {}), issued, overrides.get(r["id"]))
        for r in rows
    ]


def kept_counts(cards: list[dict[str, Any]]) -> tuple[int, int]:
    """(kept cards the bulletin will hold, kept calls it leaves out as closed)."""
    kept = [c for c in cards if c["state"] == "kept"]
    inside = sum(1 for c in kept if c["in_bulletin"])
    return inside, len(kept) - inside


def week_sections(
    store: Store, week: str, settings: Settings, cards: list[dict[str, Any]] | None = None
) -> list[dict[str, Any]]:
    """Candidates grouped as the bulletin's sections, kept ones first in bulletin order."""
    cards = week_cards(store, week, settings) if cards is None else cards
    groups: dict[str, list[dict[str, Any]]] = {k: [] for k in [*SECTION_ORDER, CLEARED, OTHERS]}
    for card in cards:
        groups[card["section"]].append(card)
    titles = section_titles(settings)
    sections = []
    for kind, items in groups.items():
        if not items:
            continue
        for item in items:
            item["orderable"] = kind in ORDERED_SECTIONS
        kept, closed = kept_counts(items)
        sections.append(
            {
                "id": kind,
                "title": titles.get(kind, CLEARED_TITLE if kind == CLEARED else OTHERS_TITLE),
                "items": sorted(items, key=_order),
                "orderable": kind in ORDERED_SECTIONS,
                "kept": kept,
                "closed": closed,
            }
        )
    return sections


def one_card(store: Store, week: str, settings: Settings, item_id: int) -> dict[str, Any] | None:
    """The card of one item of the week (as ``week_sections`` would show it). Once
    the week is curated, the automatic selection no longer matters: only that
    item is read, not the whole week."""
    if not store_bulletins.is_curated(store, week):
        for section in week_sections(store, week, settings):
            for item in section["items"]:
                if item["id"] == item_id:
                    return item
        return None
    rows = store_bulletins.load_items(store, ids=[item_id])
    if not rows:
        return None
    row = rows[0]
    entry = store_bulletins.entries(store, week).get(item_id)
    row.update(
        entry=entry,
        status=entry["status"] if entry else "candidate",
        pinned=bool(entry and entry["pinned"]),
        position=entry["position"] if entry else None,
        auto=False,
    )
    explanations = desk_store.get_explanations(store, [item_id]).get(item_id, {})
    override = store_labels.get_overrides(store, [item_id]).get(item_id)
    card = _decorate(row, True, explanations, issue_date(week), override)
    card["orderable"] = card["section"] in ORDERED_SECTIONS
    return card


def section_order(store: Store, week: str, settings: Settings, section_id: str) -> list[int]:
    for section in week_sections(store, week, settings):
        if section["id"] == section_id:
            return [i["id"] for i in section["items"]]
    return []
