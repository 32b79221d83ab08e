"""Scope (grand_est, france, europe, international) from a gazetteer and cues.

Places are matched on the cleaned text with one compiled pattern per group,
on whole words, accents and case ignored except for names that are also
common words ("aube", "marne") or acronyms ("EU", "LIFE").
"""

from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from watcher.base.yaml_data import load_yaml_data, yaml_problem
from watcher.exceptions import ClassifierError

# A department code in brackets, "Moselle (57)", or a postcode before a town name.
_WORD = re.compile(r"\w+")
PASSING_MIN = 3.0
_DEPT_RE = {
    "bracket": r"\((?:0?8|10|51|52|54|55|57|67|68|88)\)",
    "postcode": r"\b(?:08|10|51|52|54|55|57|67|68|88)\d{3}\s+[A-ZÉÈ][a-zéèêëîïôûü-]+",
}


def _fold_table() -> dict[int, str]:
    table = {}
    for code in range(0xC0, 0x250):
        ch = chr(code)
        base = unicodedata.normalize("NFD", ch)[0].lower()
        if len(base) == 1 and base != ch:
            table[code] = base
    table.update({ord("Œ"): "œ", ord("’"): "'"})
    return table


_FOLD = _fold_table()


def fold(text: str) -> str:
    """Lowercase without accents, same length as the input (one char per char)."""
    return text.lower() if text.isascii() else text.translate(_FOLD).lower()


def _norm_name(name: str) -> str:
    return fold(name).replace("œ", "oe")


@dataclass
class ScopeResult:
    scope: str
    scores: dict[str, float]
    cues: dict[str, list[str]]


class Gazetteer:
    def __init__(self, path: Path) -> None:
        try:
            raw = path.read_bytes()
            data = load_yaml_data(raw) or {}
        except (OSError, yaml.YAMLError, ValueError) as exc:  # ValueError: a date 2026-13-45
            raise ClassifierError(
                f"{path}: cannot read the gazetteer: {yaml_problem(exc)}"
            ) from exc
        self.digest = hashlib.sha256(raw).hexdigest()
        ge = data.get("grand_est") or {}
        names: list[str] = []
        for key in ("region", "towns", "more_towns", "territories", "sites", "demonyms"):
            names.extend(ge.get(key) or [])
        for dept_names in (ge.get("departments") or {}).values():
            names.extend(dept_names)
        self.sensitive = {str(v) for v in ge.get("case_sensitive") or []}
        # folded word tuple -> [(group, name as written)]; longest match wins, left to right.
        self.index: dict[tuple[str, ...], list[tuple[str, str]]] = {}
        self.longest: dict[str, int] = {}

        def build(group: str, values: list[str]) -> None:
            for name in values:
                words = tuple(_norm_name(w) for w in _WORD.findall(str(name)))
                if not words:
                    continue
                self.index.setdefault(words, []).append((group, str(name)))
                self.longest[words[0]] = max(self.longest.get(words[0], 0), len(words))

        build("grand_est", names)
        build("not_grand_est", list(ge.get("not_grand_est") or []))
        build("france", list((data.get("france") or {}).get("cues") or []))
        build("france_places", list((data.get("france") or {}).get("other_places") or []))
        eu = data.get("europe") or {}
        build("europe_strong", list(eu.get("strong") or []))
        build("europe", list(eu.get("countries") or []))
        build("europe_words", list(eu.get("words") or []))
        build("international", list((data.get("international") or {}).get("cues") or []))
        self.groups = (
            "grand_est", "france", "france_places", "europe_strong", "europe", "europe_words",
            "international",
        )  # fmt: skip
        self.dept = re.compile("|".join(_DEPT_RE.values()))

    def _case_ok(self, name: str, written: str) -> bool:
        """Names that are also common words or acronyms must keep their capitals.

        An acronym is matched exactly; in a name that is also a common word, every
        capitalised word must be written with its capital ("la Réunion" the island,
        not "la réunion" a meeting; the article may be either case).
        """
        if name.isupper() and len(name) <= 6:
            return _WORD.findall(written) == _WORD.findall(name)
        if name in self.sensitive:
            pairs = zip(_WORD.findall(name), _WORD.findall(written), strict=False)
            return all(w[:1].isupper() for n, w in pairs if n[:1].isupper())
        return True

    def cues(self, text: str) -> dict[str, list[tuple[int, int, str]]]:
        spans = [(m.start(), m.end()) for m in _WORD.finditer(text)]
        words = [_norm_name(text[s:e]) for s, e in spans]
        out: dict[str, list[tuple[int, int, str]]] = {g: [] for g in self.groups}
        i, size = 0, len(words)
        while i < size:
            longest = self.longest.get(words[i])
            matched = 0
            if longest:
                for n in range(min(longest, size - i), 0, -1):
                    entries = self.index.get(tuple(words[i : i + n]))
                    if not entries:
                        continue
                    start, end = spans[i][0], spans[i + n - 1][1]
                    written = text[start:end]
                    hits = [(g, name) for g, name in entries if self._case_ok(name, written)]
                    if not hits:
                        continue
                    matched = n
                    # A Grand Est name inside an excluded one ("Seine-et-Marne") counts for nothing.
                    for group in {g for g, _ in hits} - {"not_grand_est"}:
                        out[group].append((start, end, written))
                    break
            i += matched or 1
        out["grand_est"] += [(m.start(), m.end(), m.group(0)) for m in self.dept.finditer(text)]
        return out

    def scope(
        self, title: str, text: str, hint: str | None = None, gathering: bool = False
    ) -> ScopeResult:
        """``gathering``: the item is an event or a training, which happens somewhere."""
        head = text[:4000]
        t_cues = self.cues(title)
        b_cues = self.cues(head)

        def score(group: str) -> float:
            return 3.0 * len(t_cues.get(group, [])) + len(b_cues.get(group, []))

        ge, elsewhere = score("grand_est"), score("france_places")
        scores = {
            "grand_est": ge,
            "france": score("france") + elsewhere,
            "europe": 2.0 * score("europe_strong") + score("europe") + 0.5 * score("europe_words"),
            "international": score("international"),
        }
        cues = {
            g: sorted({c[2] for c in t_cues.get(g, []) + b_cues.get(g, [])})[:6]
            for g in self.groups
        }
        ge_in_title = bool(t_cues.get("grand_est"))
        # A Grand Est place decides, unless it is one name among places elsewhere
        # (a national list of projects, a tour of regions).
        # One Grand Est name in passing in the body does not make a national or
        # European text regional ("dont deux en région Grand Est").
        national = max(scores["france"], scores["europe"], scores["international"])
        passing = not ge_in_title and ge <= 1 and national >= PASSING_MIN
        if ge > 0 and not passing and (ge > elsewhere or (ge_in_title and ge >= elsewhere)):
            scope = "grand_est"
        elif gathering and elsewhere > 0 and not score("europe") and scores["international"] < 3:
            scope = "france"  # held in France: an EU theme or "Europe" in its name does not move it
        elif (
            scores["europe"] >= 2.5
            and scores["europe"] >= scores["international"]
            and scores["europe"] > scores["france"]  # not a French text citing the EU
        ):
            scope = "europe"
        elif scores["international"] >= 3 and scores["international"] > scores["europe"]:
            scope = "international"
        elif hint and scores["europe"] < 1 and scores["international"] < 1 and elsewhere == 0:
            scope = hint
        else:
            scope = "france"
        return ScopeResult(scope, scores, cues)


def load_gazetteer(path: Path) -> Gazetteer:
    return Gazetteer(path)
