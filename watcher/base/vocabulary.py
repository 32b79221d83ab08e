"""The ids the code relies on, each written here once.

Source kinds are the keys of the collect stage's registry of spiders; item
types and scopes are the label ids of LABELS.md that the code treats one by
one (sections of the bulletin, closing dates of calls, the gazetteer).
``watcher/classifiers/taxonomy.yaml`` gives each type and scope its French name and
description and must list exactly these ids (its loader checks); themes and
axes are data only, so they live in the taxonomy alone.
"""

from __future__ import annotations

from typing import Literal

SourceKind = Literal["rss", "atom", "html", "api", "sitemap", "jorf"]
SOURCE_KINDS: tuple[str, ...] = SourceKind.__args__

# In the bulletin's order: each type is one section, after "À la une".
ItemType = Literal[
    "appel_a_projets",
    "reglementation",
    "actualite",
    "evenement",
    "formation",
    "publication",
]
TYPES: tuple[str, ...] = ItemType.__args__

Scope = Literal["grand_est", "france", "europe", "international"]
SCOPES: tuple[str, ...] = Scope.__args__

# The groups of labels of the taxonomy, in LABELS.md's order.
LABEL_GROUPS = ("types", "themes", "axes", "scopes")
