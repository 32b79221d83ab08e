"""Scores to labels: lexicon + model combined, conventions applied, explanations kept."""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import numpy as np

from watcher.classify.deadline import extract_deadline
from watcher.classify.event import extract_event
from watcher.classify.lexicon import raw_scores, squash, top_terms
from watcher.classify.prepare import Prepared
from watcher.classify.rules import type_adjustments
from watcher.models import EventInfo, Labels

MAX_THEMES = 4
# Share of the best theme's score that keeps a second theme: 0.7 against 0.8 gives themes
# micro-F1 0.867 / 0.871 (CV / dev) for 0.866 / 0.865; 0.6 and 0.9 lose (docs/classify.md).
THEME_NEAR_BEST = 0.7
THEME_NEAR_FLOOR = 0.25  # ... never below this score
SCOPE_MODEL_MIN = 0.7  # probability the learned scope needs to overrule "france"
# Words that make a date before it a date for registering or applying.
APPLYING = re.compile(
    r"inscri|candidat|r[ée]pon|dossier|d[ée]p[ôo]t|d[ée]pos|cl[ôo]s|cl[ôo]t|limite|s[ée]lection",
    re.I,
)
# Types whose axes follow the convention alone (LABELS.md: regulation and calls
# feed `veille`, trainings `formation`).
AXES_BY_TYPE_ONLY = {"appel_a_projets", "reglementation", "formation"}
DATED_TYPES = {"appel_a_projets", "evenement", "formation"}  # may state a closing date
EVENT_TYPES = {"evenement", "formation"}  # take place on a day, somewhere


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


@dataclass
class _Decision:
    """What one item's labelling reads (scores, thresholds, explainer) and writes
    (rounded scores and explanations per field) as each field is decided."""

    p: Prepared
    scores: dict[str, dict[str, float]]
    thresholds: dict[str, dict[str, float]]
    explain: Callable[[str, str], list] | None
    out_scores: dict[str, Any] = field(default_factory=dict)
    explanations: dict[str, Any] = field(default_factory=dict)

    def why(self, field_name: str, label: str) -> dict[str, Any]:
        model_terms = self.explain(field_name, label) if self.explain else []
        return _explain(self.p, field_name, label, model_terms)

    def keep(self, field_name: str, scores: dict[str, float]) -> None:
        self.out_scores[field_name] = {k: round(float(v), 3) for k, v in scores.items()}


def _relevance(d: _Decision) -> tuple[float, float]:
    """(score with the source's hint, threshold)."""
    rel = d.scores["relevant"]["relevant"]
    hint = d.p.hints.get("relevant")
    if isinstance(hint, bool):
        rel = min(1.0, rel + 0.15) if hint else max(0.0, rel - 0.15)
    d.out_scores["relevant"] = round(float(rel), 3)
    d.explanations["relevant"] = d.why("relevant", "relevant")
    return rel, d.thresholds.get("relevant", {}).get("relevant", 0.5)


def _type(d: _Decision) -> str:
    """The best combined score after the conventions' adjustments."""
    type_scores = dict(d.scores["type"])
    adjustments = type_adjustments(d.p.title, d.p.text[:600])
    hint = d.p.hints.get("type")
    if hint in type_scores:
        adjustments.append((hint, 0.1, "the source's usual type"))
    for type_id, boost, _reason in adjustments:
        if type_id in type_scores:
            type_scores[type_id] += boost
    chosen = max(type_scores, key=type_scores.get)
    d.keep("type", type_scores)
    d.explanations["type"] = d.why("type", chosen)
    rules = [r for t, b, r in adjustments if t == chosen and b > 0]
    if rules:
        d.explanations["type"]["rules"] = rules
    return chosen


def _themes(d: _Decision) -> list[str]:
    """Every theme over its threshold or nearly as strong as the best one, at least the
    best one, at most four."""
    theme_scores = dict(d.scores["themes"])
    for theme in d.p.hints.get("themes") or []:
        if theme in theme_scores:
            theme_scores[theme] += 0.1
    thresholds = d.thresholds.get("themes", {})
    ranked = sorted(theme_scores, key=theme_scores.get, reverse=True)
    # A theme nearly as strong as the best one counts even under its own threshold:
    # a text on two subjects scores both lower (CV +0.002 and dev +0.006 micro-F1).
    near = max(THEME_NEAR_FLOOR, THEME_NEAR_BEST * theme_scores[ranked[0]]) if ranked else 1.0
    themes = [t for t in ranked if theme_scores[t] >= min(thresholds.get(t, 0.5), near)]
    themes = themes[:MAX_THEMES]
    if not themes and ranked:
        themes = ranked[:1]
    d.keep("themes", theme_scores)
    d.explanations["themes"] = {t: d.why("themes", t) for t in themes}
    return themes


def _axes(d: _Decision, type_id: str, taxonomy: Any) -> list[str]:
    """The convention for the type, plus what the text adds (an event keeps `savoirs`).

    The thresholds are the type's own (``axes:<type>``) when training tuned them.
    """
    axis_scores = dict(d.scores["axes"])
    default = list(taxonomy.default_axes.get(type_id, []))
    if type_id in AXES_BY_TYPE_ONLY:
        axes = default
    else:
        thresholds = d.thresholds.get(f"axes:{type_id}") or d.thresholds.get("axes", {})
        axes = [a for a in axis_scores if axis_scores[a] >= thresholds.get(a, 0.5)] or default
        if type_id == "evenement":  # an event is an exchange of knowledge, whatever it adds
            axes = list(dict.fromkeys(axes + default))
    axes = [a for a in taxonomy.ids("axes") if a in axes]
    d.keep("axes", axis_scores)
    d.explanations["axes"] = {
        a: d.why("axes", a) or {"rules": [f"default for {type_id}"]} for a in axes
    }
    return axes


def _scope(d: _Decision, gazetteer: Any, type_id: str) -> str:
    """The gazetteer's places decide; a confident model may read an EU or world text
    the cues missed ("le règlement ESPR", "Kalundborg") when they said nothing, never
    an event or a training held in a French town."""
    scope = gazetteer.scope(
        d.p.title, d.p.text, hint=d.p.hints.get("scope"), gathering=type_id in EVENT_TYPES
    )
    d.out_scores["scope"] = scope.scores
    d.explanations["scope"] = {k: v for k, v in scope.cues.items() if v}
    learned = d.scores.get("scope") or {}
    held_in_france = type_id in EVENT_TYPES and bool(scope.cues.get("france_places"))
    if scope.scope == "france" and learned and not held_in_france:
        best = max(learned, key=learned.get)
        if best in ("europe", "international") and learned[best] >= SCOPE_MODEL_MIN:
            scope.scope = best
            d.explanations["scope"]["model"] = round(float(learned[best]), 3)
        d.keep("scope_model", learned)
    return scope.scope


def _dates(d: _Decision, type_id: str) -> tuple[date | None, EventInfo | None]:
    """The closing date of a call (for events and trainings, of registering) and the
    dates and place of an event or training."""
    deadline = event = None
    if type_id in DATED_TYPES:
        require = None if type_id == "appel_a_projets" else APPLYING
        deadline, why = extract_deadline(d.p.text, d.p.published, title=d.p.title, require=require)
        if deadline:
            d.explanations["deadline"] = why
    if type_id in EVENT_TYPES:
        event, why = extract_event(d.p.text, d.p.published, title=d.p.title)
        if event:
            d.explanations["event"] = why
    return deadline, event


def decide(
    p: Prepared,
    scores: dict[str, dict[str, float]],
    thresholds: dict[str, dict[str, float]],
    taxonomy: Any,
    gazetteer: Any,
    explain: Callable[[str, str], list] | None = None,
) -> LabelResult:
    """``scores``: field -> label -> combined score; ``explain(field, label)`` -> model terms."""
    if p.language != "fr":
        return LabelResult(
            p.id, Labels(relevant=False), {"relevant": 0.0},
            reason=f"not in French (language: {p.language})", language=p.language,
        )  # fmt: skip
    if not p.title and not p.text:
        return LabelResult(p.id, Labels(relevant=False), {"relevant": 0.0}, reason="empty item")
    d = _Decision(p, scores, thresholds, explain)
    rel, rel_threshold = _relevance(d)
    if rel < rel_threshold:
        negative = p.hits.get("relevant", {}).get("not_relevant", [])
        if negative:
            d.explanations["not_relevant"] = {"lexicon": top_terms(negative)}
        return LabelResult(
            p.id, Labels(relevant=False), d.out_scores, d.explanations,
            reason=f"relevance score {rel:.2f} below {rel_threshold:.2f}",
        )  # fmt: skip
    type_id = _type(d)
    themes = _themes(d)
    axes = _axes(d, type_id, taxonomy)
    scope = _scope(d, gazetteer, type_id)
    deadline, event = _dates(d, type_id)
    labels = Labels(
        relevant=True, type=type_id, themes=themes, axes=axes, scope=scope, deadline=deadline,
        event=event,
    )  # fmt: skip
    return LabelResult(p.id, labels, d.out_scores, d.explanations)
