"""Figures for LABELS.md's fields: per-label precision/recall/F1 and summaries.

Type, themes, axes and scope are measured on the items the reference marks
relevant (an item wrongly kept or dropped is counted once, by relevance).
"""

from __future__ import annotations

import unicodedata
from collections import defaultdict
from typing import Any

NOT_RELEVANT = "irrelevant"


def _prf(tp: int, fp: int, fn: int) -> dict[str, float]:
    p = tp / (tp + fp) if tp + fp else 0.0
    r = tp / (tp + fn) if tp + fn else 0.0
    f = 2 * p * r / (p + r) if p + r else 0.0
    return {"precision": round(p, 3), "recall": round(r, 3), "f1": round(f, 3), "support": tp + fn}


def summarize(
    gold: list[dict[str, Any]], pred: list[dict[str, Any]], taxonomy: Any
) -> dict[str, Any]:
    """``gold`` and ``pred`` are lists of label dicts (as `watcher label` writes them)."""
    counts: dict[str, dict[str, list[int]]] = defaultdict(lambda: defaultdict(lambda: [0, 0, 0]))

    def count(field: str, label: str, in_gold: bool, in_pred: bool) -> None:
        c = counts[field][label]
        if in_gold and in_pred:
            c[0] += 1
        elif in_pred:
            c[1] += 1
        elif in_gold:
            c[2] += 1

    scope_ok = scope_n = 0
    dl_stated = dl_exact = dl_none = dl_invented = 0
    types = taxonomy.ids("types")
    confusion = {t: dict.fromkeys([*types, NOT_RELEVANT], 0) for t in types}
    for g, p in zip(gold, pred, strict=True):
        count("relevant", "relevant", bool(g.get("relevant")), bool(p.get("relevant")))
        if g.get("relevant") and g.get("type") in confusion:
            predicted = p.get("type") if p.get("relevant") else NOT_RELEVANT
            if predicted in confusion[g["type"]]:
                confusion[g["type"]][predicted] += 1
        if g.get("deadline"):
            dl_stated += 1
            dl_exact += int(p.get("deadline") == g.get("deadline"))
        else:
            dl_none += 1
            dl_invented += int(bool(p.get("deadline")))
        if not g.get("relevant"):
            continue
        for t in taxonomy.ids("types"):
            count("type", t, g.get("type") == t, p.get("type") == t)
        for field, kind in (("themes", "themes"), ("axes", "axes")):
            gs, ps = set(g.get(field) or []), set(p.get(field) or [])
            for label in taxonomy.ids(kind):
                count(field, label, label in gs, label in ps)
        scope_n += 1
        scope_ok += int(p.get("scope") == g.get("scope"))

    per_label = {
        field: {label: _prf(*c) for label, c in labels.items()} for field, labels in counts.items()
    }

    def micro(field: str) -> float:
        tp = sum(c[0] for c in counts[field].values())
        fp = sum(c[1] for c in counts[field].values())
        fn = sum(c[2] for c in counts[field].values())
        return _prf(tp, fp, fn)["f1"]

    def macro(field: str) -> float:
        scores = [v["f1"] for v in per_label.get(field, {}).values() if v["support"]]
        return round(sum(scores) / len(scores), 3) if scores else 0.0

    summary = {
        "items": len(gold),
        "relevance_f1": per_label.get("relevant", {}).get("relevant", {}).get("f1", 0.0),
        "type_macro_f1": macro("type"),
        "themes_micro_f1": micro("themes"),
        "themes_min_f1": min(
            (v["f1"] for v in per_label.get("themes", {}).values() if v["support"]), default=0.0
        ),
        "axes_micro_f1": micro("axes"),
        "axes_macro_f1": macro("axes"),
        "scope_accuracy": round(scope_ok / scope_n, 3) if scope_n else 0.0,
        "deadline_exact": round(dl_exact / dl_stated, 3) if dl_stated else 0.0,
        "deadline_invented": round(dl_invented / dl_none, 3) if dl_none else 0.0,
        "deadline_stated": dl_stated,
    }
    out = {"summary": summary, "per_label": per_label, "type_confusion": confusion}
    events = event_figures(gold, pred)
    if events:
        out["events"] = events
    return out


def _fold(value: Any) -> str:
    text = unicodedata.normalize("NFD", str(value or "")).lower()
    return " ".join("".join(c for c in text if unicodedata.category(c) != "Mn").split())


def event_figures(gold: list[dict[str, Any]], pred: list[dict[str, Any]]) -> dict[str, Any]:
    """Exact-match rates of events' start, end and place, on the items whose gold
    carries an ``event`` key (``EventInfo.to_dict()`` or null); {} when none does."""
    pairs = [(g["event"], p.get("event")) for g, p in zip(gold, pred, strict=True) if "event" in g]
    if not pairs:
        return {}
    stated = [(g, p or {}) for g, p in pairs if g]
    none = [p for g, p in pairs if not g]

    def rate(key: str, same: Any = lambda a, b: a == b) -> float:
        hits = sum(bool(same(g.get(key), p.get(key))) for g, p in stated)
        return round(hits / len(stated), 3) if stated else 0.0

    return {
        "events_stated": len(stated),
        "start_exact": rate("start"),
        "start_day_exact": rate("start", lambda a, b: (a or "")[:10] == (b or "")[:10]),
        "end_exact": rate("end"),
        "place_exact": rate("place", lambda a, b: _fold(a) == _fold(b)),
        "all_exact": round(
            sum(g.get("start") == p.get("start") and g.get("end") == p.get("end")
                and _fold(g.get("place")) == _fold(p.get("place")) for g, p in stated)
            / len(stated), 3,
        ) if stated else 0.0,
        "events_invented": round(sum(bool(p) for p in none) / len(none), 3) if none else 0.0,
    }  # fmt: skip
