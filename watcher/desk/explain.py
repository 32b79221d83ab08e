"""Turn the classifier's explanations (``item_labels.explanations``) into short
French-readable lines per label, whatever nesting the classify stage chose:
``{label: [...]}``, ``{field: {label: [...]}}`` or ``{field: {label: {"lexicon": [...],
"model": [...]}}}``, where a list holds terms or ``[term, weight]`` pairs."""

from __future__ import annotations

from typing import Any

MAX_TERMS = 6
KEY_NAMES = {"lexicon": "lexique", "model": "modèle", "rules": "règles"}


def _terms(value: Any) -> list[str]:
    if value is None:
        return []
    if isinstance(value, str):
        return [value]
    if isinstance(value, int | float):
        return [f"{value:.2f}"]
    if isinstance(value, dict):
        out = []
        for key, sub in value.items():
            if isinstance(sub, int | float) and not isinstance(sub, bool):
                out.append(f"{key} ({sub:.2f})")
            else:
                inner = _terms(sub)
                if inner:
                    out.append(f"{KEY_NAMES.get(key, key)} : {', '.join(inner[:MAX_TERMS])}")
        return out
    if isinstance(value, list | tuple):
        out = []
        for element in value:
            if (
                isinstance(element, list | tuple)
                and len(element) == 2
                and isinstance(element[1], int | float)
            ):
                out.append(f"{element[0]} ({element[1]:+.2f})")
            elif isinstance(element, dict) and ("term" in element or "feature" in element):
                term = element.get("term") or element.get("feature")
                weight = element.get("weight", element.get("score"))
                out.append(f"{term} ({weight:+.2f})" if isinstance(weight, int | float) else term)
            else:
                out.extend(_terms(element))
        return out[:MAX_TERMS]
    return [str(value)]


def explain(explanations: dict[str, Any] | None, group: str, label: str | None) -> list[str]:
    """Lines saying why ``label`` of ``group`` (type, themes, axes, scope…) was given."""
    if not explanations or not label:
        return []
    singular = {"themes": "theme", "axes": "axis", "types": "type"}.get(group, group)
    for key in (group, singular):
        nested = explanations.get(key)
        if nested is None:
            continue
        if isinstance(nested, dict) and label in nested:
            return _terms(nested[label])
        if key in ("type", "scope", "relevant", "deadline"):
            # Single-valued fields: the explanation of the chosen label itself.
            return _terms(nested)
    for key in (label, f"{group}:{label}", f"{singular}:{label}", f"{group}.{label}"):
        if key in explanations:
            return _terms(explanations[key])
    return []
