"""The one Jinja2 environment factory: a user's template folder first, then
the bundled templates.

``environment(settings, folder)`` serves the site and the bulletin
(``folder=""``), the desk (``"desk"``) and the subscribers' mail (templates
under ``desk/mail/``). The override chain is ``publish.templates_dir`` then
the bundled templates, each read in ``folder``. Label names come from the
settings' taxonomy. Autoescape is on for every HTML and XML template and for
templates built from strings; only `.txt` templates (plain-text e-mail) are
not escaped.
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
    StrictUndefined,
    TemplateNotFound,
    Undefined,
)

from watcher.base.resources import BUNDLED_TEMPLATES
from watcher.base.taxonomy import Taxonomy, taxonomy_for
from watcher.base.weeks import french_date, french_month
from watcher.exceptions import ConfigError, PublishError
from watcher.publish.dates import event_when
from watcher.publish.editorial import editorial_html, editorial_text
from watcher.publish.sanitize import plain_text, safe_html, safe_url
from watcher.publish.template_faults import Utf8Loader, check_unicode, reported
from watcher.settings import Settings


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


def user_templates(settings: Settings | None) -> Path | None:
    """The folder of ``publish.templates_dir``, or None when it is not set.

    A missing folder (a typo, a deployment that forgot to copy it) is refused:
    the loader would skip it without a word and every page would silently come
    out of the bundled templates."""
    configured = settings.publish.templates_dir if settings else None
    if not configured:
        return None
    path = Path(configured)
    if not path.is_dir():
        reason = "is a file, not a folder" if path.exists() else "no such folder"
        raise ConfigError(
            f"publish.templates_dir = '{path}': {reason}",
            hint="fix the path in the settings file, "
            "or remove the key to use the bundled templates",
        )
    return path


def template_dirs(settings: Settings | None = None, folder: str = "") -> list[Path]:
    """The folders searched for a template, first match wins."""
    configured = user_templates(settings)
    dirs = [configured / folder] if configured else []
    return [*dirs, BUNDLED_TEMPLATES / folder]


def _autoescape(template_name: str | None) -> bool:
    # Plain-text templates are the only ones rendered without escaping.
    return not (template_name or "").endswith(".txt")


@functools.cache
def _environment(dirs: tuple[Path, ...], taxonomy: Taxonomy, strict: bool) -> Environment:
    env = Environment(
        loader=ChoiceLoader([Utf8Loader(str(d)) for d in dirs]),
        autoescape=_autoescape,
        undefined=StrictUndefined if strict else Undefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )
    env.filters.update(
        french_date=french_date,
        french_month=french_month,
        theme_name=lambda key: taxonomy.name("themes", key),
        type_name=lambda key: taxonomy.name("types", key),
        scope_name=lambda key: taxonomy.name("scopes", key),
        axis_name=lambda key: taxonomy.name("axes", key),
        days_left=days_left_text,
        safe_html=safe_html,
        plain=plain_text,
        safe_url=safe_url,
        editorial_html=editorial_html,
        editorial_text=editorial_text,
        iso=lambda d: d.isoformat() if isinstance(d, date) else "",
        event_when=event_when,
        event_iso=lambda event: event.to_dict()["start"] if event else "",
    )
    env.globals["label_names"] = taxonomy.names
    return env


def environment(
    settings: Settings | None = None, folder: str = "", *, strict: bool = True
) -> Environment:
    """The environment of ``settings`` reading templates in ``folder`` (cached).

    ``strict``: a name missing from the context is an error (the published
    outputs); the desk's pages test optional names instead (``strict=False``)."""
    dirs = tuple(template_dirs(settings, folder))
    return _environment(dirs, taxonomy_for(settings), strict)


def render(template: str, settings: Settings | None = None, **context: Any) -> str:
    """Render a template of the root folder; PublishError naming the paths tried,
    TemplateFileError naming the file and line of a user's template that fails."""
    user_folder = user_templates(settings)
    with reported(user_folder):
        try:
            tpl = environment(settings).get_template(template)
        except TemplateNotFound:
            tried = ", ".join(str(d / template) for d in template_dirs(settings))
            raise PublishError(f"template {template!r} not found; tried: {tried}") from None
        text = tpl.render(**context)
    return check_unicode(text, tpl.filename, user_folder)


def templates_fingerprint(settings: Settings | None = None) -> str:
    """A hash of every template file: a template change invalidates cached pages."""
    digest = hashlib.sha256()
    for folder in template_dirs(settings):
        if folder.is_dir():
            for path in sorted(folder.rglob("*")):
                if path.is_file():
                    digest.update(str(path.relative_to(folder)).encode())
                    digest.update(path.read_bytes())
    return digest.hexdigest()[:16]
