"""Curators' lexicons: weighted words and phrases per label, matched on lemmas.

``watcher/classifiers/lexicons.yaml`` maps a field (relevant, type, themes, axes) to
labels, each with ``term: weight``. Terms are lemmatized like the texts, so a
curator writes natural French and plural or conjugated forms still match.
"""

from __future__ import annotations

import hashlib
import math
from collections import defaultdict
from dataclasses import dataclass
from pathlib import Path

import yaml

from watcher.base.yaml_data import load_yaml_data, yaml_problem
from watcher.classify.nlp import lemmatize_one
from watcher.exceptions import ClassifierError

LEXICON_FIELDS = ("relevant", "type", "themes", "axes")
TITLE_FACTOR = 2.0
MAX_NGRAM = 8


@dataclass
class Hit:
    term: str
    weight: float
    count: int
    in_title: bool

    @property
    def score(self) -> float:
        # Repetition helps, but slowly: a page listing "déchet" ten times is not ten cues.
        base = self.weight * (1.0 + math.log(self.count)) if self.count else 0.0
        return base + (self.weight * (TITLE_FACTOR - 1) if self.in_title else 0.0)


class Lexicon:
    def __init__(self, path: Path) -> None:
        self.path = path
        try:
            raw = path.read_bytes()
            data = load_yaml_data(raw) or {}
        except (OSError, yaml.YAMLError, ValueError) as exc:  # ValueError: a date 2026-13-45
            raise ClassifierError(f"{path}: cannot read the lexicons: {yaml_problem(exc)}") from exc
        self.digest = hashlib.sha256(raw).hexdigest()
        # lemma n-gram -> [(field, label, weight, written term)]
        self.index: dict[str, list[tuple[str, str, float, str]]] = defaultdict(list)
        self.max_n = 1
        for field_name, labels in data.items():
            if field_name not in LEXICON_FIELDS or not isinstance(labels, dict):
                raise ClassifierError(
                    f"{path}: unknown section '{field_name}' (expected {LEXICON_FIELDS})"
                )
            for label, terms in labels.items():
                if not isinstance(terms, dict):
                    raise ClassifierError(f"{path}: {field_name}.{label}: expected term: weight")
                for term, weight in terms.items():
                    if not isinstance(weight, int | float):
                        raise ClassifierError(
                            f"{path}: {field_name}.{label}.{term}: weight must be a number"
                        )
                    key = " ".join(lemmatize_one(str(term)))
                    if not key:
                        continue
                    n = key.count(" ") + 1
                    if n > MAX_NGRAM:
                        raise ClassifierError(f"{path}: {field_name}.{label}.{term}: too long")
                    self.max_n = max(self.max_n, n)
                    self.index[key].append((field_name, str(label), float(weight), str(term)))
        # First lemma of a term -> longest term starting with it: most words start none.
        self.starts: dict[str, int] = {}
        for key in self.index:
            first, n = key.split(" ", 1)[0], key.count(" ") + 1
            self.starts[first] = max(self.starts.get(first, 0), n)

    def match(
        self, title_lemmas: list[str], body_lemmas: list[str]
    ) -> dict[str, dict[str, list[Hit]]]:
        """field -> label -> hits."""
        found: dict[tuple[str, str, str], Hit] = {}
        starts = self.starts
        for lemmas, in_title in ((title_lemmas, True), (body_lemmas, False)):
            size = len(lemmas)
            for i in range(size):
                longest = starts.get(lemmas[i])
                if longest is None:
                    continue
                for n in range(1, min(longest, size - i) + 1):
                    key = " ".join(lemmas[i : i + n])
                    entries = self.index.get(key)
                    if not entries:
                        continue
                    for field_name, label, weight, term in entries:
                        hit = found.get((field_name, label, term))
                        if hit is None:
                            hit = found[(field_name, label, term)] = Hit(term, weight, 0, False)
                        hit.count += 1
                        hit.in_title = hit.in_title or in_title
        out: dict[str, dict[str, list[Hit]]] = defaultdict(lambda: defaultdict(list))
        for (field_name, label, _term), hit in found.items():
            out[field_name][label].append(hit)
        return out


def raw_scores(hits: dict[str, list[Hit]]) -> dict[str, float]:
    return {label: sum(h.score for h in label_hits) for label, label_hits in hits.items()}


def squash(raw: float, scale: float = 3.0) -> float:
    """A lexicon sum mapped to [0, 1): 0 → 0, ``scale`` → 0.63."""
    return 1.0 - math.exp(-max(raw, 0.0) / scale)


def top_terms(hits: list[Hit], k: int = 5) -> list[list[object]]:
    ranked = sorted(hits, key=lambda h: -abs(h.score))[:k]
    return [[h.term, round(h.score, 2)] for h in ranked]


def load_lexicon(path: Path) -> Lexicon:
    return Lexicon(path)
