"""Kinds of source: a registry from ``Source.kind`` to the module that starts it.

Each module has ``start(spider, run) -> list[Request]``: the first requests of a
source, whose handlers save items and return any further requests.
"""

from __future__ import annotations

from types import ModuleType

from watcher.base.vocabulary import SourceKind
from watcher.collect.kinds import api, feeds, html, jorf, sitemap

# One entry per kind of ``watcher.base.vocabulary.SOURCE_KINDS`` (a test checks).
REGISTRY: dict[SourceKind, ModuleType] = {
    "rss": feeds,
    "atom": feeds,
    "html": html,
    "api": api,
    "sitemap": sitemap,
    "jorf": jorf,
}
