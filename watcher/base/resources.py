"""Where the bundled resources are: templates and classifiers.

Every module asks here instead of walking up from its own file, so the
resources can move (package data, see ``docs/architecture.md``) in one place.
"""

from __future__ import annotations

from pathlib import Path

_ROOT = Path(__file__).resolve().parents[2]

BUNDLED_TEMPLATES = _ROOT / "templates"
BUNDLED_CLASSIFIERS = _ROOT / "classifiers"
