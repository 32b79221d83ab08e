"""Classify stage: relevance, type, themes, axes, scope and deadline of each item.

Hybrid and explainable: curators' lexicons (``classifiers/lexicons.yaml``) and
a linear model over spaCy lemmas trained on ``classifiers/training/`` and the
curators' corrections, combined per label; a gazetteer for scope; French
date rules for deadlines; conventions of LABELS.md as rules.
"""

from watcher.classify.classifier import Classifier, Resources
from watcher.classify.decide import LabelResult
from watcher.classify.pending import classify_pending

__all__ = ["Classifier", "LabelResult", "Resources", "classify_pending"]
