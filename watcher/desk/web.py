"""Shared helpers of the desk's views: templates, flash messages, label names."""

from __future__ import annotations

import re
from datetime import date, datetime
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from watcher.base.clock import PARIS
from watcher.base.resources import BUNDLED_TEMPLATES
from watcher.base.taxonomy import taxonomy_for
from watcher.base.weeks import french_date, week_label, week_of
from watcher.desk.security import csrf_token, current_user, security_headers
from watcher.publish.render import environment
from watcher.publish.sanitize import safe_url
from watcher.settings import Settings

STATIC_DIR = BUNDLED_TEMPLATES / "desk" / "static"


def _fr_datetime(value: datetime | None) -> str:
    if value is None:
        return ""
    return f"{french_date(value)} à {value.astimezone(PARIS):%H:%M}"


def _fr_date(value: Any) -> str:
    if isinstance(value, str) and value:
        try:
            value = date.fromisoformat(value[:10])
        except ValueError:
            return value
    return french_date(value) if value else ""


FIELD_NAMES = {
    "status": "statut",
    "pinned": "à la une",
    "title": "titre",
    "summary": "résumé",
    "order": "ordre",
    "labels.type": "type",
    "labels.themes": "thèmes",
    "labels.axes": "axes",
    "labels.scope": "portée",
    "labels.deadline": "date limite",
    "labels.relevant": "pertinent",
    "publish": "publication",
    "new_edition": "nouvelle édition",
}
STATUS_NAMES = {"kept": "retenu", "dropped": "écarté", "candidate": "candidat"}


def _decision_value(value: Any, field: str, names: dict[str, dict[str, str]]) -> str:
    """A decision's before/after value as a curator reads it."""
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, bool) or field == "labels.relevant":
        return "oui" if value else "non"
    group = {
        "labels.type": "types",
        "labels.themes": "themes",
        "labels.axes": "axes",
        "labels.scope": "scopes",
    }.get(field)
    if group:
        values = value if isinstance(value, list) else [value]
        return ", ".join(names[group].get(v, v) for v in values)
    if field == "status":
        return STATUS_NAMES.get(value, str(value))
    if field == "labels.deadline":
        return _fr_date(value)
    if field == "order":
        return "modifié"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def desk_templates(settings: Settings) -> Jinja2Templates:
    """The desk's templates (folder ``desk`` of the override chain) and its filters."""
    env = environment(settings, "desk", strict=False)
    env.filters.update(
        fr_date=_fr_date,
        safe_href=safe_url,  # links from the web: http(s) only
        decision_value=partial(_decision_value, names=taxonomy_for(settings).names),
        fr_datetime=_fr_datetime,
    )
    env.globals.update(field_names=FIELD_NAMES, week_label=week_label)
    return Jinja2Templates(env=env)


_ERRORS_FR = [
    (
        re.compile(r"bulletin (\S+) (?:edition \d+ )?is (?:already )?published"),
        "Le bulletin {0} est publié : ouvrez une nouvelle édition pour le corriger.",
    ),
    (re.compile(r"decision (\d+) was already undone"), "Cette modification a déjà été annulée."),
    (re.compile(r"a '(\S+)' decision cannot be undone"), "Cette action ne s’annule pas."),
    (
        re.compile(r"item (\d+) is not in the bulletin"),
        "Gardez d’abord cet élément pour le déplacer dans sa rubrique.",
    ),
    (
        re.compile(r"bulletin (\S+) has no published edition"),
        "Le bulletin {0} n’est pas publié : il se modifie directement.",
    ),
    (re.compile(r"week '([^']*)': .*"), "Semaine « {0} » invalide : attendu par exemple 2026-W48."),
    (re.compile(r"no item with id (\d+)"), "Élément {0} introuvable."),
    (re.compile(r"deadline '([^']*)': .*"), "Date limite « {0} » invalide (AAAA-MM-JJ)."),
]


def french_error(message: str) -> str:
    """The library's (English) error as the curators read it."""
    for pattern, text in _ERRORS_FR:
        match = pattern.search(message)
        if match:
            return text.format(*match.groups())
    return f"Action impossible : {message}"


def flash(request: Request, message: str, kind: str = "info") -> None:
    request.session.setdefault("flash", []).append([kind, message])


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    messages = request.session.pop("flash", [])
    response = request.app.state.templates.TemplateResponse(
        request,
        template,
        {
            "user": current_user(request),
            "csrf": csrf_token(request),
            "messages": messages,
            "current_week": week_of(datetime.now(PARIS)),
            **context,
        },
        status_code=status_code,
    )
    return security_headers(response)


def is_fetch(request: Request) -> bool:
    """A request sent by desk.js (progressive enhancement), which wants a fragment back."""
    return request.headers.get("x-requested-with") == "fetch"


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def fragment(request: Request, template: str, **context: Any) -> Response:
    response = request.app.state.templates.TemplateResponse(
        request, template, {"csrf": csrf_token(request), "user": current_user(request), **context}
    )
    return security_headers(response)


def html(text: str, status_code: int = 200) -> HTMLResponse:
    return security_headers(HTMLResponse(text, status_code=status_code))
