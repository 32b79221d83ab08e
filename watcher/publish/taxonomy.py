"""French names of the labels (what readers see), from classifiers/taxonomy.yaml.

The classify stage's loader is the one reader of that file; this module only
flattens it to ``{group: {id: French name}}`` for the templates.
"""

from __future__ import annotations

import functools

from watcher.base.taxonomy import FIELDS, load_taxonomy


@functools.cache
def names() -> dict[str, dict[str, str]]:
    """{"types"|"themes"|"axes"|"scopes": {id: French name}}, in the taxonomy's order."""
    taxonomy = load_taxonomy()
    return {
        group: {key: taxonomy.name(group, key) for key in taxonomy.ids(group)} for group in FIELDS
    }


def name(group: str, key: str | None) -> str:
    if not key:
        return ""
    return names()[group].get(key, key)
