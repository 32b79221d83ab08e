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

from watcher.exceptions import ClassifierError

# A department code in brackets, "Moselle (57)", or a postcode before a town name.
_DEPT_RE = {
    "bracket": r"\((?:0?8|10|51|52|54|55|57|67|68|88)\)",
    "postcode": r"\b(?:08|10|51|52|54|55|57|67|68|88)\d{3}\s+[A-ZÉÈ][a-zéèêëîïôûü-]+",
}


def fold(text: str) -> str:
    """Lowercase without accents, same length as the input (one char per char)."""
    out = []
    for ch in text:
        base = unicodedata.normalize("NFD", ch)[0]
        out.append(base.lower() if len(base.lower()) == 1 else ch.lower()[:1] or ch)
    return "".join(out)


def _norm_name(name: str) -> str:
    return fold(name).replace("œ", "oe")


def _pattern(names: list[str], *, case_sensitive: bool = False) -> re.Pattern[str] | None:
    names = sorted({str(n) for n in names if str(n).strip()}, key=len, reverse=True)
    if not names:
        return None
    alts = []
    for name in names:
        written = name if case_sensitive else _norm_name(name)
        escaped = re.escape(written).replace(r"\-", "[-\\s]").replace(r"\ ", "[-\\s]+")
        alts.append(escaped)
    return re.compile(r"(?<![\w-])(?:" + "|".join(alts) + r")(?![\w-])")


@dataclass
class ScopeResult:
    scope: str
    scores: dict[str, float]
    cues: dict[str, list[str]]


class Gazetteer:
    def __init__(self, path: Path) -> None:
        try:
            raw = path.read_bytes()
            data = yaml.safe_load(raw) or {}
        except (OSError, yaml.YAMLError) as exc:
            raise ClassifierError(f"{path}: cannot read the gazetteer: {exc}") from exc
        self.digest = hashlib.sha256(raw).hexdigest()
        ge = data.get("grand_est") or {}
        names: list[str] = list(ge.get("region") or []) + list(ge.get("towns") or [])
        for dept_names in (ge.get("departments") or {}).values():
            names.extend(dept_names)
        sensitive = set(ge.get("case_sensitive") or [])
        self.groups: dict[str, list[tuple[re.Pattern[str], bool]]] = {}

        def build(group: str, values: list[str]) -> None:
            values = [str(v) for v in values]
            caps = [v for v in values if v in sensitive or (v.isupper() and len(v) <= 6)]
            rest = [v for v in values if v not in caps]
            pats = []
            for names_, cs in ((rest, False), (caps, True)):
                pat = _pattern(names_, case_sensitive=cs)
                if pat is not None:
                    pats.append((pat, cs))
            self.groups[group] = pats

        build("grand_est", [n for n in names if n not in sensitive] + sorted(sensitive))
        build("not_grand_est", list(ge.get("not_grand_est") or []))
        build("france", list((data.get("france") or {}).get("cues") or []))
        eu = data.get("europe") or {}
        build("europe_strong", list(eu.get("strong") or []))
        build("europe", list(eu.get("countries") or []))
        build("international", list((data.get("international") or {}).get("cues") or []))
        self.dept = re.compile("|".join(_DEPT_RE.values()))

    def _find(self, group: str, text: str, folded: str) -> list[tuple[int, int, str]]:
        found = []
        for pat, cs in self.groups.get(group, []):
            target = text if cs else folded
            for m in pat.finditer(target):
                found.append((m.start(), m.end(), text[m.start() : m.end()]))
        return found

    def cues(self, text: str) -> dict[str, list[tuple[int, int, str]]]:
        folded = _norm_name(text) if len(_norm_name(text)) == len(text) else fold(text)
        out = {g: self._find(g, text, folded) for g in self.groups}
        # A name inside an excluded one ("Marne" in "Seine-et-Marne") does not count.
        spans = out.pop("not_grand_est")
        out["grand_est"] = [
            hit
            for hit in out["grand_est"]
            if not any(s <= hit[0] and hit[1] <= e for s, e, _ in spans)
        ] + [(m.start(), m.end(), m.group(0)) for m in self.dept.finditer(text)]
        return out

    def scope(self, title: str, text: str, hint: str | None = None) -> ScopeResult:
        head = text[:6000]
        t_cues = self.cues(title)
        b_cues = self.cues(head)

        def score(group: str) -> float:
            return 3.0 * len(t_cues.get(group, [])) + len(b_cues.get(group, []))

        scores = {
            "grand_est": score("grand_est"),
            "france": score("france"),
            "europe": 2.0 * score("europe_strong") + 0.5 * score("europe"),
            "international": score("international"),
        }
        cues = {
            g: sorted({c[2] for c in t_cues.get(g, []) + b_cues.get(g, [])})[:6]
            for g in ("grand_est", "france", "europe_strong", "europe", "international")
        }
        if scores["grand_est"] > 0:
            scope = "grand_est"
        elif scores["europe"] >= 3 and scores["europe"] >= scores["international"]:
            scope = "europe"
        elif scores["international"] >= 3 and scores["international"] > scores["europe"]:
            scope = "international"
        elif hint and scores["europe"] < 1 and scores["international"] < 1:
            scope = hint
        else:
            scope = "france"
        return ScopeResult(scope, scores, cues)


def load_gazetteer(path: Path) -> Gazetteer:
    return Gazetteer(path)
