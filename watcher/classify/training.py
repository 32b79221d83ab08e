"""Training examples: every ``*.jsonl`` of ``watcher/classifiers/training/`` plus curators' overrides."""

from __future__ import annotations

import hashlib
import json
import logging
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from watcher.classify.corpus import parse_line

log = logging.getLogger(__name__)

LABEL_KEYS = ("relevant", "type", "themes", "axes", "scope", "deadline")


def _valid_example(obj: Any) -> str | None:
    """None when usable, else why not."""
    if not isinstance(obj, dict):
        return "not a JSON object"
    if not isinstance(obj.get("title", ""), str) or not isinstance(obj.get("text", ""), str):
        return "title and text must be strings"
    if not (obj.get("title") or obj.get("text")):
        return "empty title and text"
    labels = obj.get("labels")
    if not isinstance(labels, dict) or not isinstance(labels.get("relevant"), bool):
        return "labels.relevant (true/false) is missing"
    if labels["relevant"]:
        if not isinstance(labels.get("type"), str):
            return "a relevant example needs labels.type"
        for key in ("themes", "axes"):
            if not isinstance(labels.get(key) or [], list):
                return f"labels.{key} must be a list"
    return None


def training_files(folder: Path) -> list[Path]:
    return sorted(p for p in folder.glob("*.jsonl") if p.is_file()) if folder.is_dir() else []


def load_examples(folder: Path) -> list[dict[str, Any]]:
    """Every usable example; a malformed line is skipped with a warning naming file and line."""
    examples: list[dict[str, Any]] = []
    for path in training_files(folder):
        try:
            lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
        except OSError as exc:
            log.warning("%s: cannot read: %s", path, exc)
            continue
        for number, line in enumerate(lines, 1):
            if not line.strip():
                continue
            obj, problem = parse_line(line)
            problem = problem or _valid_example(obj)
            if problem:
                log.warning("%s:%d: skipped, %s", path, number, problem)
                continue
            obj.setdefault("id", f"{path.name}:{number}")
            obj["_origin"] = f"{path.name}:{number}"
            examples.append(obj)
    return examples


def hash_inputs(folder: Path, extra: Iterable[str] = ()) -> str:
    """Hash of the training files' names and bytes, and of any extra strings."""
    digest = hashlib.sha256()
    for path in training_files(folder):
        digest.update(path.name.encode())
        try:
            digest.update(hashlib.sha256(path.read_bytes()).digest())
        except OSError:
            digest.update(b"unreadable")
    for value in extra:
        digest.update(value.encode())
    return digest.hexdigest()


def overrides_digest(examples: list[dict[str, Any]]) -> str:
    payload = json.dumps(
        [[e["id"], e["labels"]] for e in examples], sort_keys=True, ensure_ascii=False
    )
    return hashlib.sha256(payload.encode()).hexdigest()
