"""Where the bundled resources are: templates and classifiers.

Both ship inside the package (``watcher/templates/``, ``watcher/classifiers/``,
declared as package data), so a wheel installed anywhere has them. A
deployment overrides them with its own folders (``publish.templates_dir``,
``classify.classifiers_dir``), searched first. Every module asks here.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

# The package is installed as files (never zipped): its Traversable is a real folder,
# which Jinja's FileSystemLoader and the YAML readers need.
_PACKAGE = Path(str(files("watcher")))

BUNDLED_TEMPLATES = _PACKAGE / "templates"
BUNDLED_CLASSIFIERS = _PACKAGE / "classifiers"
