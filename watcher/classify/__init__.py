"""Classify stage: relevance, type, themes, axes, scope and deadline of each item.

Hybrid and explainable: curators' lexicons (``watcher/classifiers/lexicons.yaml``) and
a linear model over spaCy lemmas trained on ``watcher/classifiers/training/`` and the
curators' corrections, combined per label; a gazetteer for scope; French
date rules for deadlines; conventions of LABELS.md as rules.
"""

from __future__ import annotations

import importlib
from typing import Any

# Loaded on first use: the taxonomy and the deadline rules are read by other
# stages (publish, deliver, desk) that must not pay for scikit-learn and spaCy.
_EXPORTS = {
    "Classifier": "watcher.classify.classifier",
    "Resources": "watcher.classify.classifier",
    "LabelResult": "watcher.classify.decide",
    "classify_pending": "watcher.classify.pending",
}

__all__ = sorted(_EXPORTS)


def __getattr__(name: str) -> Any:
    if name in _EXPORTS:
        return getattr(importlib.import_module(_EXPORTS[name]), name)
    raise AttributeError(f"module 'watcher.classify' has no attribute {name!r}")
