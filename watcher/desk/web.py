"""Shared helpers of the desk's views: templates, flash messages, label names."""

from __future__ import annotations

from datetime import date, datetime
from pathlib import Path
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response
from starlette.templating import Jinja2Templates

from watcher.desk.security import csrf_token, current_user, security_headers
from watcher.publish.taxonomy import names
from watcher.publish.weeks import PARIS, french_date, week_label, week_of

TEMPLATES_DIR = Path(__file__).resolve().parents[2] / "templates" / "desk"
STATIC_DIR = TEMPLATES_DIR / "static"

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


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


templates.env.filters["fr_date"] = _fr_date
templates.env.filters["fr_datetime"] = _fr_datetime
templates.env.globals["label_names"] = names
templates.env.globals["week_label"] = week_label


def flash(request: Request, message: str, kind: str = "info") -> None:
    request.session.setdefault("flash", []).append([kind, message])


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    messages = request.session.pop("flash", [])
    response = templates.TemplateResponse(
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
    response = templates.TemplateResponse(
        request, template, {"csrf": csrf_token(request), "user": current_user(request), **context}
    )
    return security_headers(response)


def html(text: str, status_code: int = 200) -> HTMLResponse:
    return security_headers(HTMLResponse(text, status_code=status_code))
