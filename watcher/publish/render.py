"""The Jinja2 environment: a user's template folder first, then `templates/`.

Autoescape is on for every HTML and XML template and for templates built from
strings; only `.txt` templates (plain-text e-mail) are not escaped.
"""

from __future__ import annotations

import functools
import hashlib
from datetime import date
from pathlib import Path
from typing import Any

from jinja2 import (
    ChoiceLoader,
    Environment,
    FileSystemLoader,
    StrictUndefined,
    TemplateNotFound,
    select_autoescape,
)

from watcher.exceptions import PublishError
from watcher.publish.sanitize import safe_html, safe_url
from watcher.publish.taxonomy import name
from watcher.publish.weeks import french_date, french_month

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates"


def days_left_text(days: int | None) -> str:
    if days is None:
        return ""
    if days < 0:
        return "clôturé"
    if days == 0:
        return "clôture aujourd'hui"
    if days == 1:
        return "dernier jour demain"
    return f"J-{days}"


def _search_dirs(templates_dir: Path | None) -> list[Path]:
    dirs = [Path(templates_dir)] if templates_dir else []
    return [*dirs, TEMPLATES_DIR]


@functools.cache
def _environment(templates_dir: Path | None) -> Environment:
    env = Environment(
        loader=ChoiceLoader([FileSystemLoader(str(d)) for d in _search_dirs(templates_dir)]),
        autoescape=select_autoescape(
            enabled_extensions=("html", "xml", "svg"), default_for_string=True, default=True
        ),
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    # Plain-text templates are the only ones rendered without escaping.
    env.autoescape = lambda template_name: not (template_name or "").endswith(".txt")
    env.filters.update(
        french_date=french_date,
        french_month=french_month,
        theme_name=lambda key: name("themes", key),
        type_name=lambda key: name("types", key),
        scope_name=lambda key: name("scopes", key),
        axis_name=lambda key: name("axes", key),
        days_left=days_left_text,
        safe_html=safe_html,
        safe_url=safe_url,
        iso=lambda d: d.isoformat() if isinstance(d, date) else "",
    )
    return env


def environment(settings: Any | None = None) -> Environment:
    templates_dir = getattr(getattr(settings, "publish", None), "templates_dir", None)
    return _environment(Path(templates_dir) if templates_dir else None)


def render(template: str, settings: Any | None = None, **context: Any) -> str:
    env = environment(settings)
    try:
        tpl = env.get_template(template)
    except TemplateNotFound:
        tried = ", ".join(str(d / template) for d in _search_dirs(_dir(settings)))
        raise PublishError(f"template {template!r} not found; tried: {tried}") from None
    return tpl.render(**context)


def _dir(settings: Any | None) -> Path | None:
    value = getattr(getattr(settings, "publish", None), "templates_dir", None)
    return Path(value) if value else None


def templates_fingerprint(settings: Any | None = None) -> str:
    """A hash of every template file: a template change invalidates cached pages."""
    digest = hashlib.sha256()
    for folder in _search_dirs(_dir(settings)):
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    digest.update(str(path.relative_to(folder)).encode())
                    digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
