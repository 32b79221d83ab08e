"""Figures for LABELS.md's fields: per-label precision/recall/F1 and summaries.

Type, themes, axes and scope are measured on the items the reference marks
relevant (an item wrongly kept or dropped is counted once, by relevance).
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any


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
    for g, p in zip(gold, pred, strict=True):
        count("relevant", "relevant", bool(g.get("relevant")), bool(p.get("relevant")))
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
        "scope_accuracy": round(scope_ok / scope_n, 3) if scope_n else 0.0,
        "deadline_exact": round(dl_exact / dl_stated, 3) if dl_stated else 0.0,
        "deadline_invented": round(dl_invented / dl_none, 3) if dl_none else 0.0,
        "deadline_stated": dl_stated,
    }
    return {"summary": summary, "per_label": per_label}
