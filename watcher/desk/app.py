"""The desk's Starlette application and `serve()`.

create_app(store, settings, sources=None, *, bind_host=None) -> Starlette
serve(store, settings, host=None, port=None, sources=None)

Routes come from ``routes()``: each views module lists its own, and the readers'
pages (``public``: subscribe, manage, one-click unsubscribe, under
``/abonnement``) sit beside the curators'. Every route, whoever wrote it, passes
through the same stack (outermost first): security headers, request check (Host
name, path), body cap, signed session cookie.
"""

from __future__ import annotations

import logging
import socket
import sys
from pathlib import Path
from typing import Any

from markupsafe import escape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Mount
from starlette.staticfiles import StaticFiles
from starlette.types import Scope

from watcher.config import SourcesFile
from watcher.deliver.tokens import desk_secret
from watcher.desk import (
    public,
    views_admin,
    views_bulletin,
    views_model,
    views_sources,
    views_week,
)
from watcher.desk.accounts import has_accounts
from watcher.desk.guard import HEADERS, BodyLimit, RequestCheck, SecurityHeaders, allowed_hosts
from watcher.desk.model_preview import PreviewRunner
from watcher.desk.security import PAGE_HEAD, LoginThrottle, check_bind
from watcher.desk.sources_runner import CollectRunner
from watcher.desk.templates import check_templates
from watcher.desk.web import STATIC_DIR, FlashBox, desk_templates, french_error, html
from watcher.exceptions import TemplateFileError, WatcherError
from watcher.settings import PUBLIC_PREFIX, Settings
from watcher.store import Store
from watcher.store.desk import count_users
from watcher.store.read_only import is_busy_error

try:
    from python_multipart.exceptions import ParseError as MultipartParseError
except ModuleNotFoundError:  # python-multipart before 0.0.13 (as Starlette's own import)
    from multipart.exceptions import ParseError as MultipartParseError  # type: ignore[no-redef]

logger = logging.getLogger(__name__)


def routes() -> list[BaseRoute]:
    """Every route of the desk; a new views module adds its ``ROUTES`` here."""
    return [
        *views_week.ROUTES,
        *views_bulletin.ROUTES,
        *views_admin.ROUTES,
        *views_sources.ROUTES,
        *views_model.ROUTES,
        Mount(f"/{PUBLIC_PREFIX}", routes=public.routes()),  # the readers' pages, no login
        Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]


def _page(title: str, message: str, status: int) -> Response:
    return html(
        "<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'>"
        f"{PAGE_HEAD}<title>{escape(title)}</title></head><body><main class='bare'>"
        f"<h1>{escape(title)}</h1><p>{escape(message)}</p><p><a href='/'>Retour</a></p>"
        "</main></body></html>",
        status_code=status,
    )


async def _watcher_error(request: Request, exc: Exception) -> Response:
    """A bad week or item in a URL: a French page, not a traceback."""
    return _page("Page introuvable", french_error(getattr(exc, "message", str(exc))), 404)


async def _template_error(request: Request, exc: Exception) -> Response:
    """A user's template that fails (publish.templates_dir): named to a signed-in
    curator, who can fix it; a reader or a visitor sees no server path."""
    logger.error("template error: %s", exc)
    # security.current_user leaves the user here once a view asked for it.
    curator = request.scope.get("desk_user")
    if not isinstance(exc, TemplateFileError) or not curator or _is_public(request):
        return _page(
            "Page indisponible",
            "Cette page ne peut pas s’afficher pour le moment. Réessayez plus tard.",
            500,
        )
    line = f" (ligne {exc.line})" if exc.line else ""
    return _page(
        "Gabarit personnalisé en erreur",
        f"Le gabarit {exc.path}{line} ne peut pas être affiché : {exc.detail}. "
        "Corrigez-le dans le dossier publish.templates_dir, puis rechargez la page.",
        500,
    )


def _is_public(request: Request) -> bool:
    return request.url.path.startswith(f"/{PUBLIC_PREFIX}/")


_HTTP_FR = {
    400: ("Requête invalide", "Le formulaire ou l’adresse envoyée est mal formé."),
    404: ("Page introuvable", "Cette adresse ne correspond à aucune page du bureau."),
    405: ("Action impossible", "Cette adresse ne s’utilise pas ainsi."),
    413: ("Envoi trop volumineux", "Le formulaire ou le fichier envoyé est trop gros."),
}


async def _http_error(request: Request, exc: Exception) -> Response:
    """Starlette's own refusals (no route, wrong method, malformed body) in French:
    its default pages are one English line."""
    status = getattr(exc, "status_code", 400)
    if _is_public(request) and status in public.REFUSED:
        response = public.refusal_page(request, status)  # a reader's page, not the desk's
    else:
        title, message = _HTTP_FR.get(status, ("Requête refusée", f"Erreur {status}."))
        response = _page(title, message, status)
    for name, value in (getattr(exc, "headers", None) or {}).items():
        response.headers[name] = value  # e.g. Allow on a 405
    return response


def _body_refusal(scope: Scope, status: int, cap: int) -> Response:
    """BodyLimit's 413: the readers' page under the prefix, else the desk's own
    error page (like its 400 and 404) naming the cap, so the curator knows how
    far to shrink the file or the text."""
    request = Request(scope)
    if _is_public(request):
        return public.refusal_page(request, status)
    return _page(
        "Envoi trop volumineux",
        f"Le formulaire ou le fichier envoyé est trop gros : au plus {cap // 1024} Kio.",
        status,
    )


async def _malformed_body(request: Request, exc: Exception) -> Response:
    """A multipart body python-multipart cannot parse (a boundary that never comes):
    Starlette lets its error through, which was a 500; it is the sender's 400."""
    return await _http_error(request, HTTPException(400))


async def _server_error(request: Request, exc: Exception) -> Response:
    # Sent by Starlette's outermost layer, outside SecurityHeaders: set them here.
    if is_busy_error(exc):  # a crawl or a send holds SQLite's write lock
        response = _page(
            "Base de données occupée",
            "Une autre tâche (une collecte, un envoi) écrit dans la base en ce moment : "
            "rien n’a été enregistré. Revenez en arrière et réessayez dans un instant.",
            503,
        )
        response.headers["Retry-After"] = "30"
    else:
        response = _page("Erreur du bureau", "Une erreur inattendue s’est produite.", 500)
    for name, value in HEADERS:
        response.headers[name] = value
    return response


def create_app(
    store: Store,
    settings: Settings,
    sources: SourcesFile | None = None,
    *,
    sources_path: Path | None = None,
    bind_host: str | None = None,
) -> Starlette:
    """The desk over ``store``; ``sources`` is the loaded sources file (or None),
    ``sources_path`` the file the sources page edits (None: read-only),
    ``bind_host`` the address served (allowed as a Host name when specific)."""
    secret = desk_secret(store, settings)
    desk = settings.desk
    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(SecurityHeaders),
            Middleware(RequestCheck, hosts=allowed_hosts(settings, bind_host)),
            Middleware(
                BodyLimit,
                form_bytes=desk.max_form_kib * 1024,
                upload_bytes=desk.max_upload_kib * 1024,
                page=_body_refusal,
            ),
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                session_cookie="veille_session",
                max_age=desk.session_max_age_h * 3600,
                same_site="strict",
                https_only=desk.secure_cookies,
            ),
        ],
        exception_handlers={
            HTTPException: _http_error,
            MultipartParseError: _malformed_body,
            TemplateFileError: _template_error,
            WatcherError: _watcher_error,
            Exception: _server_error,
        },
    )
    app.state.store = store
    app.state.settings = settings
    app.state.templates = desk_templates(settings)
    check_templates(app.state.templates, "desk")
    app.state.sources = sources
    app.state.sources_path = sources_path if sources is not None else None
    app.state.secret = secret
    app.state.has_accounts = lambda: has_accounts(store)
    app.state.model_preview = PreviewRunner()
    app.state.collect_runner = CollectRunner()
    app.state.login_throttle = LoginThrottle()
    app.state.flashes = FlashBox()
    public.attach(app, settings)
    check_templates(app.state.public.templates, "public")
    return app


def server_options(**options: Any) -> dict[str, Any]:
    """uvicorn's options for the desk (``serve`` and the tests' servers)."""
    # The client's address is read by the desk itself, through desk.trusted_proxies
    # only: uvicorn would otherwise believe any X-Forwarded-For sent from loopback.
    return {"proxy_headers": False, **options}


def serve(
    store: Store,
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    sources: SourcesFile | None = None,
    sources_path: Path | None = None,
    listening: socket.socket | None = None,
) -> None:
    """Run the desk with uvicorn until interrupted; ConfigError (exit 2) for a
    non-loopback address while no curator account exists. ``listening``: the
    socket `listen` opened on ``host`` and ``port`` already."""
    import uvicorn

    host = host or settings.desk.host
    port = settings.desk.port if port is None else port
    check_bind(host, count_users(store))
    listening = listening or listen(host, port)
    app = create_app(store, settings, sources, sources_path=sources_path, bind_host=host)
    bound_port = listening.getsockname()[1]
    shown = f"[{host}]" if ":" in host else host
    # uvicorn names its address only when it binds the socket itself.
    print(f"Desk on http://{shown}:{bound_port}/ (Ctrl-C to stop)", file=sys.stderr, flush=True)
    config = uvicorn.Config(app, **server_options(host=host, port=port, log_level="info"))
    uvicorn.Server(config).run(sockets=[listening])


def listen(host: str, port: int) -> socket.socket:
    """The desk's listening socket, or WatcherError naming the address: uvicorn
    would log its own English line and exit with status 3 instead."""
    try:
        family, kind, proto, _name, address = socket.getaddrinfo(
            host, port, type=socket.SOCK_STREAM
        )[0]
    except (socket.gaierror, UnicodeError, OverflowError) as exc:
        raise WatcherError(f"{host}:{port}: cannot listen: unknown host ({exc})") from exc
    sock = socket.socket(family, kind, proto)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(address)
        sock.listen(128)
    except OSError as exc:
        sock.close()
        raise WatcherError(f"{host}:{port}: cannot listen: {exc.strerror or exc}") from exc
    return sock
