"""The labels of LABELS.md: ids, French names and descriptions, read from
``taxonomy.yaml`` of the classifiers folder (``classify.classifiers_dir``, or
the bundled one).

``taxonomy_for(settings)`` is how every stage gets it: each file is read once
(cached by path), never at import time, so a deployment's own classifiers
folder is what the classifier, the bulletin, the site, the mail and the desk
all read.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from pathlib import Path

import yaml

from watcher.base.resources import BUNDLED_CLASSIFIERS
from watcher.base.vocabulary import LABEL_GROUPS, SCOPES, TYPES
from watcher.base.yaml_data import load_yaml_data, yaml_problem
from watcher.exceptions import ClassifierError
from watcher.settings import ClassifySettings, Settings

FIELDS = LABEL_GROUPS


@dataclass(frozen=True, eq=False)  # one object per file read: compared and hashed by identity
class Taxonomy:
    types: dict[str, dict[str, str]]
    themes: dict[str, dict[str, str]]
    axes: dict[str, dict[str, str]]
    scopes: dict[str, dict[str, str]]
    default_axes: dict[str, list[str]] = field(default_factory=dict)
    digest: str = ""

    def name(self, kind: str, label_id: str | None) -> str:
        """French name of a label (``kind`` is types, themes, axes or scopes)."""
        if not label_id:
            return ""
        return getattr(self, kind).get(label_id, {}).get("name", label_id)

    def ids(self, kind: str) -> list[str]:
        return list(getattr(self, kind))

    @cached_property
    def names(self) -> dict[str, dict[str, str]]:
        """{"types"|"themes"|"axes"|"scopes": {id: French name}}, in the taxonomy's order."""
        return {group: {key: self.name(group, key) for key in self.ids(group)} for group in FIELDS}

    def section_title(self, type_id: str) -> str:
        """The bulletin section of a type: its ``section`` entry, else its name."""
        entry = self.types.get(type_id, {})
        return entry.get("section") or entry.get("name") or type_id


def classifiers_dir(settings: Settings | ClassifySettings | None = None) -> Path:
    """The classifiers folder of ``settings`` (a Settings or its ClassifySettings)."""
    section = settings.classify if isinstance(settings, Settings) else settings
    configured = section.classifiers_dir if section is not None else None
    return Path(configured) if configured else BUNDLED_CLASSIFIERS


@lru_cache(maxsize=8)
def _load(path: Path) -> Taxonomy:
    try:
        raw = path.read_bytes()
        data = load_yaml_data(raw) or {}
    except (OSError, yaml.YAMLError, ValueError) as exc:  # ValueError: a date 2026-13-45
        raise ClassifierError(f"{path}: cannot read the taxonomy: {yaml_problem(exc)}") from exc
    if not isinstance(data, dict):
        raise ClassifierError(f"{path}: expected a mapping of label groups")
    parts = {}
    for kind in FIELDS:
        section = data.get(kind)
        if not isinstance(section, dict) or not section:
            raise ClassifierError(f"{path}: section '{kind}' is missing or empty")
        for label_id, entry in section.items():
            if not isinstance(entry, dict) or "name" not in entry:
                raise ClassifierError(f"{path}: {kind}.{label_id}: needs a 'name'")
        parts[kind] = {str(k): dict(v) for k, v in section.items()}
    for kind, expected in (("types", TYPES), ("scopes", SCOPES)):
        if set(parts[kind]) != set(expected):
            raise ClassifierError(
                f"{path}: {kind} must be exactly {', '.join(expected)}",
                hint="the code handles each of them (watcher/base/vocabulary.py)",
            )
    default_axes = {str(k): list(v) for k, v in (data.get("default_axes") or {}).items()}
    for type_id, axes in default_axes.items():
        if type_id not in parts["types"] or not set(axes) <= set(parts["axes"]):
            raise ClassifierError(f"{path}: default_axes.{type_id}: unknown type or axis")
    return Taxonomy(**parts, default_axes=default_axes, digest=hashlib.sha256(raw).hexdigest())


def load_taxonomy(path: Path | str | None = None) -> Taxonomy:
    """The taxonomy in ``path`` (default: the bundled ``taxonomy.yaml``)."""
    return _load(Path(path) if path else BUNDLED_CLASSIFIERS / "taxonomy.yaml")


def taxonomy_for(settings: Settings | ClassifySettings | None = None) -> Taxonomy:
    """The taxonomy of the settings' classifiers folder (a Settings, its
    ClassifySettings, or None for the bundled one)."""
    return load_taxonomy(classifiers_dir(settings) / "taxonomy.yaml")
