"""The desk's Starlette application and `serve()`.

create_app(store, settings, sources=None) -> Starlette
serve(store, settings, host=None, port=None, sources=None)
"""

from __future__ import annotations

import os
from typing import Any

from markupsafe import escape
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from watcher.config import SourcesFile
from watcher.desk import public
from watcher.desk import views_admin as admin
from watcher.desk import views_model as model
from watcher.desk import views_week as week
from watcher.desk.accounts import has_accounts
from watcher.desk.model_preview import PreviewRunner
from watcher.desk.security import LoginThrottle, check_bind
from watcher.desk.web import STATIC_DIR, desk_templates, french_error, html
from watcher.exceptions import WatcherError
from watcher.settings import PUBLIC_PREFIX, Settings
from watcher.store import Store
from watcher.store.desk import count_users, get_or_create_secret, get_user

WEEK = "/semaine/{week}"
ITEM = WEEK + "/element/{item_id:int}"


def routes() -> list[Any]:
    return [
        Route("/", week.home),
        Route("/connexion", admin.login_page, methods=["GET"]),
        Route("/connexion", admin.login_submit, methods=["POST"]),
        Route("/deconnexion", admin.logout, methods=["POST"]),
        Route(WEEK, week.week_page),
        Route(WEEK + "/journal", week.decisions_fragment),
        Route(WEEK + "/apercu", week.preview_page),
        Route(WEEK + "/apercu/email", week.preview_email),
        Route(WEEK + "/publier", week.publish, methods=["POST"]),
        Route(WEEK + "/nouvelle-edition", week.new_edition, methods=["POST"]),
        Route(ITEM + "/statut", week.set_status, methods=["POST"]),
        Route(ITEM + "/une", week.set_pin, methods=["POST"]),
        Route(ITEM + "/texte", week.set_text, methods=["POST"]),
        Route(ITEM + "/etiquettes", week.set_labels, methods=["POST"]),
        Route(ITEM + "/deplacer", week.move_item, methods=["POST"]),
        Route(ITEM + "/ajouter", week.add_item, methods=["POST"]),
        Route("/decisions/{decision_id:int}/annuler", week.undo_decision, methods=["POST"]),
        Route("/recherche", week.search_page),
        Route("/abonnes", admin.subscribers_page),
        Route("/abonnes/ajouter", admin.subscriber_add, methods=["POST"]),
        Route("/abonnes/retirer", admin.subscriber_remove, methods=["POST"]),
        Route("/abonnes/importer", admin.subscriber_import, methods=["POST"]),
        Route("/sources", admin.sources_page),
        Route("/modele", model.model_page),
        Route("/modele/apercu", model.model_preview, methods=["POST"]),
        Route("/modele/adopter", model.model_adopt, methods=["POST"]),
        Mount(f"/{PUBLIC_PREFIX}", routes=public.routes()),  # the readers' pages, no login
        Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="static"),
    ]


async def _watcher_error(request: Request, exc: Exception) -> Response:
    """A bad week or item in a URL: a French page, not a traceback."""
    message = french_error(getattr(exc, "message", str(exc)))
    return html(
        "<!DOCTYPE html><html lang='fr'><meta charset='utf-8'><title>Introuvable</title>"
        f"<h1>Page introuvable</h1><p>{escape(message)}</p><p><a href='/'>Retour</a></p></html>",
        status_code=404,
    )


def secret_key(store: Store, settings: Settings) -> str:
    return os.environ.get(settings.desk.secret_key_env) or get_or_create_secret(store, "session")


def create_app(store: Store, settings: Settings, sources: SourcesFile | None = None) -> Starlette:
    secret = secret_key(store, settings)
    app = Starlette(
        routes=routes(),
        middleware=[
            Middleware(
                SessionMiddleware,
                secret_key=secret,
                session_cookie="veille_session",
                max_age=settings.desk.session_max_age_h * 3600,
                same_site="strict",
            )
        ],
    )
    app.add_exception_handler(WatcherError, _watcher_error)
    app.state.store = store
    app.state.settings = settings
    app.state.templates = desk_templates(settings)
    app.state.sources = sources
    app.state.secret = secret
    app.state.has_accounts = lambda: has_accounts(store)
    app.state.model_preview = PreviewRunner()
    app.state.login_throttle = LoginThrottle()
    app.state.user_exists = lambda name: get_user(store, name) is not None
    public.attach(app, settings)
    return app


def serve(
    store: Store,
    settings: Settings,
    *,
    host: str | None = None,
    port: int | None = None,
    sources: SourcesFile | None = None,
) -> None:
    """Run the desk with uvicorn until interrupted; ConfigError (exit 2) for a
    non-loopback address while no curator account exists."""
    import uvicorn

    host = host or settings.desk.host
    port = settings.desk.port if port is None else port
    check_bind(host, count_users(store))
    uvicorn.run(create_app(store, settings, sources), host=host, port=port, log_level="info")
