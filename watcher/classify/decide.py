"""Scores to labels: lexicon + model combined, conventions applied, explanations kept."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from watcher.classify.deadline import extract_deadline
from watcher.classify.lexicon import raw_scores, squash, top_terms
from watcher.classify.prepare import Prepared
from watcher.classify.rules import type_adjustments
from watcher.models import Labels

MAX_THEMES = 4
SCOPE_MODEL_MIN = 0.7  # probability the learned scope needs to overrule "france"
# Words that make a date before it a date for registering or applying.
APPLYING = re.compile(
    r"inscri|candidat|r[ée]pon|dossier|d[ée]p[ôo]t|d[ée]pos|cl[ôo]s|cl[ôo]t|limite|s[ée]lection",
    re.I,
)
# Types whose axes follow the convention alone (LABELS.md: regulation and calls
# feed `veille`, trainings `formation`).
AXES_BY_TYPE_ONLY = {"appel_a_projets", "reglementation", "formation"}


@dataclass
class LabelResult:
    id: Any
    labels: Labels
    scores: dict[str, Any] = field(default_factory=dict)
    explanations: dict[str, Any] = field(default_factory=dict)
    reason: str | None = None
    language: str = "fr"

    def to_dict(self) -> dict[str, Any]:
        """`watcher label`'s line: ``labels`` exactly as LABELS.md defines them, the
        event's dates and place beside them (``event``, None when there is none)."""
        labels = self.labels.to_dict()
        event = labels.pop("event", None)
        out = {"id": self.id, "labels": labels, "event": event, "scores": self.scores}
        out["language"] = self.language
        if self.reason:
            out["reason"] = self.reason
        return out


def lexicon_matrix(items: list[Prepared], field_name: str, labels: list[str]) -> np.ndarray:
    out = np.zeros((len(items), len(labels)))
    for i, p in enumerate(items):
        if field_name == "relevant":
            hits = p.hits.get("relevant", {})
            pos = sum(h.score for h in hits.get("relevant", []))
            neg = sum(h.score for h in hits.get("not_relevant", []))
            out[i, 0] = 0.5 + 0.5 * (squash(pos, 4.0) - squash(neg, 3.0))
            continue
        if field_name == "scope":
            continue  # the gazetteer decides scope; the model only backs it (see decide)
        raw = raw_scores(p.hits.get(field_name, {}))
        for j, label in enumerate(labels):
            out[i, j] = squash(raw.get(label, 0.0), 3.0)
    return out


def combine(model_p: np.ndarray | None, lex: np.ndarray, weight: float) -> np.ndarray:
    if model_p is None:
        return lex
    return weight * model_p + (1.0 - weight) * lex


def _explain(p: Prepared, field_name: str, label: str, model_terms: list) -> dict[str, Any]:
    if field_name == "relevant":
        hits = p.hits.get("relevant", {}).get("relevant", [])
    else:
        hits = p.hits.get(field_name, {}).get(label, [])
    out: dict[str, Any] = {}
    if hits:
        out["lexicon"] = top_terms(hits)
    if model_terms:
        out["model"] = model_terms
    return out


def decide(
    p: Prepared,
    scores: dict[str, dict[str, float]],
    thresholds: dict[str, dict[str, float]],
    taxonomy: Any,
    gazetteer: Any,
    explain: Any = None,
) -> LabelResult:
    """``scores``: field -> label -> combined score; ``explain(field, label)`` -> model terms."""

    def terms(field_name: str, label: str) -> list:
        return explain(field_name, label) if explain else []

    if p.language != "fr":
        return LabelResult(
            p.id, Labels(relevant=False), {"relevant": 0.0},
            reason=f"not in French (language: {p.language})", language=p.language,
        )  # fmt: skip
    if not p.title and not p.text:
        return LabelResult(p.id, Labels(relevant=False), {"relevant": 0.0}, reason="empty item")

    rel = scores["relevant"]["relevant"]
    hint_rel = p.hints.get("relevant")
    if isinstance(hint_rel, bool):
        rel = min(1.0, rel + 0.15) if hint_rel else max(0.0, rel - 0.15)
    rel_threshold = thresholds.get("relevant", {}).get("relevant", 0.5)
    out_scores: dict[str, Any] = {"relevant": round(float(rel), 3)}
    explanations: dict[str, Any] = {
        "relevant": _explain(p, "relevant", "relevant", terms("relevant", "relevant"))
    }
    if rel < rel_threshold:
        neg = p.hits.get("relevant", {}).get("not_relevant", [])
        if neg:
            explanations["not_relevant"] = {"lexicon": top_terms(neg)}
        return LabelResult(
            p.id, Labels(relevant=False), out_scores, explanations,
            reason=f"relevance score {rel:.2f} below {rel_threshold:.2f}",
        )  # fmt: skip

    # Type: the best combined score after the conventions' adjustments.
    type_scores = dict(scores["type"])
    lead = p.text[:600]
    adjustments = type_adjustments(p.title, lead)
    hint_type = p.hints.get("type")
    if hint_type in type_scores:
        adjustments.append((hint_type, 0.1, "the source's usual type"))
    for type_id, boost, _reason in adjustments:
        if type_id in type_scores:
            type_scores[type_id] += boost
    type_id = max(type_scores, key=type_scores.get)
    out_scores["type"] = {k: round(float(v), 3) for k, v in type_scores.items()}
    explanations["type"] = _explain(p, "type", type_id, terms("type", type_id))
    rules = [r for t, b, r in adjustments if t == type_id and b > 0]
    if rules:
        explanations["type"]["rules"] = rules

    # Themes: every theme over its threshold, at least the best one, at most four.
    theme_scores = dict(scores["themes"])
    for theme in p.hints.get("themes") or []:
        if theme in theme_scores:
            theme_scores[theme] += 0.1
    t_thr = thresholds.get("themes", {})
    ranked = sorted(theme_scores, key=theme_scores.get, reverse=True)
    themes = [t for t in ranked if theme_scores[t] >= t_thr.get(t, 0.5)][:MAX_THEMES]
    if not themes and ranked:
        themes = ranked[:1]
    out_scores["themes"] = {k: round(float(v), 3) for k, v in theme_scores.items()}
    explanations["themes"] = {t: _explain(p, "themes", t, terms("themes", t)) for t in themes}

    # Axes: the convention for the type, plus what the text adds.
    axis_scores = dict(scores["axes"])
    default = list(taxonomy.default_axes.get(type_id, []))
    if type_id in AXES_BY_TYPE_ONLY:
        axes = default
    else:
        a_thr = thresholds.get("axes", {})
        axes = [a for a in axis_scores if axis_scores[a] >= a_thr.get(a, 0.5)]
        if not axes:
            axes = default
    axes = [a for a in taxonomy.ids("axes") if a in axes]
    out_scores["axes"] = {k: round(float(v), 3) for k, v in axis_scores.items()}
    explanations["axes"] = {
        a: _explain(p, "axes", a, terms("axes", a)) or {"rules": [f"default for {type_id}"]}
        for a in axes
    }

    scope = gazetteer.scope(p.title, p.text, hint=p.hints.get("scope"))
    out_scores["scope"] = scope.scores
    explanations["scope"] = {k: v for k, v in scope.cues.items() if v}
    learned = scores.get("scope") or {}
    if scope.scope == "france" and learned:
        # The places said nothing decisive: a confident model may read an EU or
        # world text the cues missed ("le règlement ESPR", "Kalundborg").
        best = max(learned, key=learned.get)
        if best in ("europe", "international") and learned[best] >= SCOPE_MODEL_MIN:
            scope.scope = best
            explanations["scope"]["model"] = round(float(learned[best]), 3)
        out_scores["scope_model"] = {k: round(float(v), 3) for k, v in learned.items()}

    deadline = None
    if type_id in ("appel_a_projets", "evenement", "formation"):
        # For events and trainings, only a closing date for registering or applying.
        require = None if type_id == "appel_a_projets" else APPLYING
        deadline, evidence = extract_deadline(p.text, p.published, title=p.title, require=require)
        if deadline:
            explanations["deadline"] = evidence

    labels = Labels(
        relevant=True, type=type_id, themes=themes, axes=axes, scope=scope.scope,
        deadline=deadline,
    )  # fmt: skip
    return LabelResult(p.id, labels, out_scores, explanations)
