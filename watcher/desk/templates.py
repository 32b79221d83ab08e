"""The desk's templates when ``publish.templates_dir`` overrides some of them.

A user's template that fails is told as ``<file>:<line>: <what>``, like the
CLI does: ``watcher serve`` refuses to start on one that does not compile, and
one that fails while a page renders raises TemplateFileError, which the app
answers with a French page naming it (``app._template_error``) instead of the
generic 500.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment
from starlette.requests import Request
from starlette.responses import Response
from starlette.templating import Jinja2Templates

from watcher.publish.render import user_templates
from watcher.publish.template_faults import check_unicode, reported
from watcher.settings import Settings

TEMPLATE_SUFFIXES = (".html", ".txt", ".xml")


class CheckedTemplates(Jinja2Templates):
    """Starlette's templates, raising TemplateFileError for a user's template."""

    def __init__(self, env: Environment, settings: Settings) -> None:
        super().__init__(env=env)
        self.user_folder = user_templates(settings)

    def TemplateResponse(  # noqa: N802 - Starlette's name
        self, request: Request, name: str, context: dict[str, Any] | None = None, **kwargs: Any
    ) -> Response:
        with reported(self.user_folder):
            try:
                return super().TemplateResponse(request, name, context, **kwargs)
            except UnicodeEncodeError as exc:
                # The page rendered, but holds a character the answer cannot encode:
                # told as the CLI tells it (check_unicode raises for a user's template).
                if isinstance(exc.object, str):
                    filename = self.get_template(name).filename or name
                    check_unicode(exc.object, filename, self.user_folder)
                raise


def check_templates(templates: CheckedTemplates, folder: str) -> None:
    """Compile every template the user's ``folder`` (``desk``, ``public``) holds,
    so that one that cannot compile stops ``watcher serve`` before any page."""
    if templates.user_folder is None:
        return
    root = templates.user_folder / folder
    if not root.is_dir():
        return
    for path in sorted(root.rglob("*")):
        if path.is_file() and path.suffix in TEMPLATE_SUFFIXES:
            with reported(templates.user_folder):
                templates.get_template(path.relative_to(root).as_posix())
