"""JSON Lines in (items to label, labelled corpora), each problem named by line.

A line may be anything: not JSON, JSON nested 100,000 levels deep (which
Python's parser answers with RecursionError), a list, a labelled item whose
labels are not LABELS.md's. Each is reported as ``file:line: what is wrong``;
nothing here raises on bad input.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from datetime import date
from pathlib import Path
from typing import Any, BinaryIO

from watcher.base.taxonomy import Taxonomy
from watcher.exceptions import ClassifierError
from watcher.models import EventInfo

MAX_REPORTED = 20


def parse_line(line: str) -> tuple[dict[str, Any] | None, str | None]:
    """(object, None) or (None, what is wrong with the line)."""
    try:
        record = json.loads(line)
    except json.JSONDecodeError as exc:
        if exc.pos < len(line) and "\udc80" <= line[exc.pos] <= "\udcff":
            # a byte read with surrogateescape: UTF-16 or Latin-1 rather than broken JSON
            return None, f"not UTF-8 text (column {exc.pos + 1}; save the file as UTF-8)"
        return None, f"not valid JSON ({exc.msg})"
    except RecursionError:
        return None, "not valid JSON (nested too deeply)"
    except ValueError as exc:  # an integer beyond Python's digit limit
        return None, f"not valid JSON ({exc})"
    if not isinstance(record, dict):
        return None, "expected a JSON object"
    try:
        # A byte that is not UTF-8 (read with surrogateescape) or an escaped
        # lone surrogate would only fail later, when the result is written.
        json.dumps(record, ensure_ascii=False).encode("utf-8")
    except UnicodeEncodeError:
        return None, "not UTF-8 text (a byte or an escaped character that is not text)"
    return record, None


def text_lines(stream: BinaryIO) -> Iterator[str]:
    """A byte stream's lines as text, a byte that is not UTF-8 kept for
    `parse_line` to report rather than aborting the whole read."""
    for raw in stream:
        yield raw.decode("utf-8", "surrogateescape")


def read_jsonl(lines: Iterable[str], name: str) -> Iterator[tuple[int, dict[str, Any] | str]]:
    """(line number, record or "name:line: problem") for each non-blank line."""
    for number, line in enumerate(lines, 1):
        if not line.strip():
            continue
        record, problem = parse_line(line)
        yield number, record if record is not None else f"{name}:{number}: {problem}"


def _is_date(value: Any) -> bool:
    if not isinstance(value, str):
        return False
    try:
        date.fromisoformat(value)
    except ValueError:
        return False
    return len(value) == 10


def gold_problems(record: dict[str, Any], taxonomy: Taxonomy) -> list[str]:
    """What keeps a corpus line's labels from being scored (LABELS.md's format)."""
    labels = record.get("labels")
    if not isinstance(labels, dict):
        return ["no labels object"]
    problems = []
    unknown = set(labels) - {"relevant", "type", "themes", "axes", "scope", "deadline"}
    if unknown:
        problems.append(f"unknown label fields {', '.join(sorted(unknown))}")
    relevant = labels.get("relevant")
    if not isinstance(relevant, bool):
        problems.append(f"labels.relevant must be true or false, not {relevant!r}")
    elif relevant:
        for key, kind in (("type", "types"), ("scope", "scopes")):
            value = labels.get(key)
            if value not in taxonomy.ids(kind):
                problems.append(f"labels.{key} {value!r} is not one of {taxonomy.ids(kind)}")
        for key in ("themes", "axes"):
            values = labels.get(key)
            if not isinstance(values, list) or not values:
                problems.append(f"labels.{key} must be a non-empty list")
                continue
            wrong = [v for v in values if v not in taxonomy.ids(key)]
            if wrong:
                problems.append(f"labels.{key}: unknown {', '.join(map(repr, wrong))}")
    deadline = labels.get("deadline")
    if deadline is not None and not _is_date(deadline):
        problems.append(f"labels.deadline {deadline!r} is not a date YYYY-MM-DD")
    if record.get("event") is not None:
        try:
            EventInfo.from_dict(record["event"])
        except ValueError as exc:
            problems.append(str(exc))
    return problems


def load_corpus(
    path: Path, taxonomy: Taxonomy, lines: Iterable[str] | None = None
) -> list[dict[str, Any]]:
    """Every line of a labelled corpus (``lines`` when given, e.g. stdin's, named
    ``path``); ClassifierError listing every bad line."""
    if lines is None:
        try:
            lines = path.read_text(encoding="utf-8").splitlines()
        except (OSError, UnicodeDecodeError) as exc:
            raise ClassifierError(f"{path}: cannot read the corpus: {exc}") from exc
    records, errors = [], []
    for number, record in read_jsonl(lines, str(path)):
        if isinstance(record, str):
            errors.append(record)
            continue
        problems = gold_problems(record, taxonomy)
        if problems:
            errors.append(f"{path}:{number}: {'; '.join(problems)}")
            continue
        records.append(record)
    if errors:
        shown = errors[:MAX_REPORTED]
        more = len(errors) - len(shown)
        listing = "\n".join(shown) + (f"\n… and {more} more" if more else "")
        raise ClassifierError(
            f"{path}: {len(errors)} line(s) cannot be scored:\n{listing}",
            hint="fix the labels (ids of watcher/classifiers/taxonomy.yaml, LABELS.md's format)",
        )
    if not records:
        raise ClassifierError(f"{path}: no items")
    return records
