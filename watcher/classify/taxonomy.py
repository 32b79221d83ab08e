"""The labels of LABELS.md, read from ``classifiers/taxonomy.yaml`` only."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

import yaml

from watcher.exceptions import ClassifierError

CLASSIFIERS_DIR = Path(__file__).resolve().parents[2] / "classifiers"
FIELDS = ("types", "themes", "axes", "scopes")


@dataclass(frozen=True)
class Taxonomy:
    types: dict[str, dict[str, str]]
    themes: dict[str, dict[str, str]]
    axes: dict[str, dict[str, str]]
    scopes: dict[str, dict[str, str]]
    default_axes: dict[str, list[str]] = field(default_factory=dict)
    digest: str = ""

    def name(self, kind: str, label_id: str) -> str:
        """French name of a label (``kind`` is types, themes, axes or scopes)."""
        return getattr(self, kind).get(label_id, {}).get("name", label_id)

    def ids(self, kind: str) -> list[str]:
        return list(getattr(self, kind))


def classifiers_dir(settings=None) -> Path:  # noqa: ANN001 - ClassifySettings | None
    configured = getattr(settings, "classifiers_dir", None) if settings else None
    return Path(configured) if configured else CLASSIFIERS_DIR


@lru_cache(maxsize=8)
def _load(path: Path) -> Taxonomy:
    try:
        raw = path.read_bytes()
        data = yaml.safe_load(raw) or {}
    except (OSError, yaml.YAMLError) as exc:
        raise ClassifierError(f"{path}: cannot read the taxonomy: {exc}") from exc
    parts = {}
    for kind in FIELDS:
        section = data.get(kind)
        if not isinstance(section, dict) or not section:
            raise ClassifierError(f"{path}: section '{kind}' is missing or empty")
        for label_id, entry in section.items():
            if not isinstance(entry, dict) or "name" not in entry:
                raise ClassifierError(f"{path}: {kind}.{label_id}: needs a 'name'")
        parts[kind] = {str(k): dict(v) for k, v in section.items()}
    default_axes = {str(k): list(v) for k, v in (data.get("default_axes") or {}).items()}
    for type_id, axes in default_axes.items():
        if type_id not in parts["types"] or not set(axes) <= set(parts["axes"]):
            raise ClassifierError(f"{path}: default_axes.{type_id}: unknown type or axis")
    return Taxonomy(**parts, default_axes=default_axes, digest=hashlib.sha256(raw).hexdigest())


def load_taxonomy(path: Path | str | None = None) -> Taxonomy:
    return _load(Path(path) if path else CLASSIFIERS_DIR / "taxonomy.yaml")
