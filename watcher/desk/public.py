"""The readers' own pages, without a curator's login: subscribe (double opt-in),
manage one's subscription, unsubscribe in one click.

``create_app`` mounts them under ``/abonnement`` (``watcher.deliver.tokens.PUBLIC_PREFIX``);
a reverse proxy may publish just that prefix. The links in the e-mails point
here (``desk.public_url`` + ``abonnement/…``).

- ``/abonnement/``: the form. A POST always gets the same page, whether the
  address is known, new, or already had its confirmation mails today, and does
  the same work (one request row, the mail is sent after the answer); only a
  malformed address or too many posts from one client (429) get another answer.
- ``/abonnement/confirmer/<signed request key>``: GET shows, POST confirms (a
  mail scanner that follows links subscribes no one).
- ``/abonnement/gerer/<signed subscriber key>``: themes, types, scope; pause,
  resume, unsubscribe.
- ``/abonnement/desabonner/<signed subscriber key>``: GET asks, POST
  unsubscribes: the RFC 8058 one-click POST of mail clients, with neither
  session nor CSRF token (the signed key is the proof).

No page here uses the session; none has inline scripts or handlers (the desk's
CSP applies); token pages are never cached and send no Referer.
"""

from __future__ import annotations

import math
import time
from collections import deque
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any

from starlette.background import BackgroundTask
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import Mount, Route
from starlette.staticfiles import StaticFiles

from watcher.base.resources import BUNDLED_TEMPLATES
from watcher.base.taxonomy import taxonomy_for
from watcher.deliver import optin
from watcher.deliver.subscribers import checked_address, update_subscriber
from watcher.deliver.tokens import (
    LinkExpired,
    public_base,
    read_subscriber_token,
    subscriber_token,
)
from watcher.desk.security import client_ip
from watcher.desk.templates import CheckedTemplates
from watcher.exceptions import WatcherError
from watcher.publish.render import environment
from watcher.settings import PUBLIC_PREFIX, Settings
from watcher.store import delivery as log

STATIC_DIR = BUNDLED_TEMPLATES / "public" / "static"
FORM_POSTS_PER_CLIENT = 10  # per FORM_WINDOW_S, per client address
FORM_POSTS_IN_ALL = 300  # per FORM_WINDOW_S, all clients together (bounds the mail sent)
FORM_WINDOW_S = 3600.0
# ?etat= after an action: (message, the statuses it is true of). The URL stays in
# the browser's history; shown again after a later pause or unsubscribe (an old tab,
# a second click on the confirmation link), the message would contradict the page.
MANAGE_STATES = {
    "confirme": (
        "Votre abonnement est confirmé : vous recevrez le prochain bulletin.",
        ("active",),
    ),
    "enregistre": ("Vos choix sont enregistrés.", ("active", "paused")),
    "suspendu": (
        "Votre abonnement est suspendu : plus aucun envoi jusqu’à ce que vous le repreniez.",
        ("paused",),
    ),
    "repris": ("Votre abonnement a repris.", ("active",)),
}


class FormThrottle:
    """Sliding windows in memory (one web process): per client and for everyone.
    Only allowed posts are remembered, and stale clients are swept, so a flood of
    addresses cannot grow it beyond ``in_all`` entries a window."""

    def __init__(self, per_client: int, in_all: int, window_s: float) -> None:
        self.per_client, self.in_all, self.window_s = per_client, in_all, window_s
        self._times: dict[str, deque[float]] = {}

    def _recent(self, key: str, now: float) -> int:
        times = self._times.get(key)
        if times is None:
            return 0
        while times and now - times[0] >= self.window_s:
            times.popleft()
        if not times:
            del self._times[key]
        return len(times)

    def allow(self, client: str, now: float | None = None) -> bool:
        now = time.monotonic() if now is None else now
        if self._recent("*", now) >= self.in_all or self._recent(client, now) >= self.per_client:
            return False
        if len(self._times) > 2 * self.in_all:
            for key in list(self._times):
                self._recent(key, now)
        for key in (client, "*"):
            self._times.setdefault(key, deque()).append(now)
        return True

    def retry_after(self, client: str, now: float | None = None) -> int:
        """Seconds until a post from ``client`` would be allowed again (0: now)."""
        now = time.monotonic() if now is None else now
        wait = 0.0
        for key, limit in ((client, self.per_client), ("*", self.in_all)):
            if self._recent(key, now) >= limit:
                times = self._times[key]
                wait = max(wait, self.window_s - (now - times[-limit]))
        return math.ceil(wait)


@dataclass
class PublicPages:
    templates: CheckedTemplates
    throttle: FormThrottle = field(
        default_factory=lambda: FormThrottle(
            FORM_POSTS_PER_CLIENT, FORM_POSTS_IN_ALL, FORM_WINDOW_S
        )
    )
    transport: Any = None  # tests hand a transport; else SMTP per confirmation


def attach(app: Any, settings: Settings) -> None:
    """Give ``app`` what these pages need (``create_app`` calls it)."""
    app.state.public = PublicPages(
        CheckedTemplates(environment(settings, "public", strict=False), settings)
    )


Endpoint = Callable[[Request], Awaitable[Response]]


def _get_post(path: str, get: Endpoint, post: Endpoint) -> Route:
    """One route for both methods: a 405 then says ``Allow: GET, HEAD, POST``
    (with a route per method, Starlette's 405 named the first route's only)."""

    async def endpoint(request: Request) -> Response:
        return await (post if request.method == "POST" else get)(request)

    return Route(path, endpoint, methods=["GET", "POST"])


def routes() -> list[Any]:
    return [
        _get_post("/", subscribe_page, subscribe_submit),
        _get_post("/confirmer/{token}", confirm_page, confirm_submit),
        _get_post("/gerer/{token}", manage_page, manage_submit),
        _get_post("/desabonner/{token}", unsubscribe_page, unsubscribe_submit),
        Mount("/static", StaticFiles(directory=str(STATIC_DIR)), name="public-static"),
    ]


# --- rendering ---------------------------------------------------------------


def _page(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    settings: Settings = request.app.state.settings
    token_page = "token" in request.path_params
    response = request.app.state.public.templates.TemplateResponse(
        request,
        template,
        {
            "root": "../" if token_page else "",  # relative: works behind any proxy prefix
            "site_url": settings.publish.public_url,
            "names": taxonomy_for(settings).names,
            **context,
        },
        status_code=status_code,
    )
    if token_page:
        # The link is the key to someone's subscription: keep it out of caches and Referers.
        response.headers["Cache-Control"] = "no-store"
        response.headers["Referrer-Policy"] = "no-referrer"
    response.headers["X-Robots-Tag"] = "noindex"
    return response  # CSP, nosniff…: create_app's SecurityHeaders adds them


def _notice(request: Request, title: str, text: str, status_code: int) -> Response:
    return _page(request, "notice.html", status_code, title=title, text=text)


def _invalid_link(request: Request) -> Response:
    return _notice(
        request,
        "Lien non valide",
        "Ce lien n’est pas (ou plus) valide. Vérifiez qu’il est complet, ou refaites la demande.",
        404,
    )


# Starlette's refusals under /abonnement, for a reader (the desk's own say « bureau »).
_REFUSALS = {
    404: (
        "Page introuvable",
        "Cette adresse ne correspond à aucune page de l’abonnement. Si elle vient "
        "d’un e-mail, vérifiez qu’elle est complète.",
    ),
    405: ("Action impossible", "Cette page ne s’utilise pas ainsi."),
    400: (
        "Envoi non valide",
        "Le formulaire envoyé est mal formé. Rechargez la page, puis envoyez-le de nouveau.",
    ),
    413: (
        "Envoi trop volumineux",
        "Le formulaire envoyé est trop gros. Rechargez la page, puis envoyez-le de nouveau.",
    ),
}
REFUSED = frozenset(_REFUSALS)


def refusal_page(request: Request, status_code: int) -> Response:
    """404 (no such page), 405 (wrong method), 400 (malformed body) or 413 (body
    over the cap) under the prefix: the readers' notice, not the desk's page (whose
    stylesheet and « Retour » are absolute paths into the desk, which the proxy may
    not publish). Links are relative to the path."""
    title, text = _REFUSALS[status_code]
    depth = request.url.path.removeprefix(f"/{PUBLIC_PREFIX}/").count("/")
    response = _page(
        request, "notice.html", status_code, root="../" * depth or "./", title=title, text=text
    )
    # The path may hold (part of) someone's link: as for the token pages.
    response.headers["Cache-Control"] = "no-store"
    response.headers["Referrer-Policy"] = "no-referrer"
    return response


def _choices(form: Any) -> dict[str, list[str]]:
    return {
        "themes": [str(v) for v in form.getlist("themes")],
        "types": [str(v) for v in form.getlist("types")],
        "scopes": [str(v) for v in form.getlist("scopes")],
    }


# --- subscribe ---------------------------------------------------------------


def _closed(request: Request) -> Response | None:
    """A notice (503) when confirmation links cannot be made: no usable desk.public_url."""
    try:
        if public_base(request.app.state.settings):
            return None
    except WatcherError:
        pass
    return _notice(
        request,
        "Abonnement en ligne indisponible",
        "L’abonnement en ligne n’est pas encore ouvert : écrivez à l’équipe de la veille.",
        503,
    )


async def subscribe_page(request: Request) -> Response:
    return _closed(request) or _page(request, "subscribe.html", chosen={}, email="")


async def subscribe_submit(request: Request) -> Response:
    closed = _closed(request)
    if closed is not None:
        return closed
    state: PublicPages = request.app.state.public
    client = client_ip(request)  # X-Forwarded-For only from desk.trusted_proxies
    if not state.throttle.allow(client):
        wait = max(1, state.throttle.retry_after(client))
        minutes = math.ceil(wait / 60)
        response = _notice(
            request,
            "Trop de demandes",
            "Trop de demandes d’abonnement depuis votre connexion : réessayez dans "
            f"{minutes} minute{'s' if minutes > 1 else ''}.",
            429,
        )
        response.headers["Retry-After"] = str(wait)  # RFC 9110: when to come back
        return response
    form = await request.form()
    email = str(form.get("email", ""))[:320]
    chosen = _choices(form)
    if form.get("site_web"):  # the field people never see: a robot filled it in
        return _page(request, "sent.html")
    store, settings = request.app.state.store, request.app.state.settings

    def refused(error: str, invalid: str) -> Response:  # the reader's entries kept
        return _page(
            request, "subscribe.html", 400, chosen=chosen, email=email, error=error, invalid=invalid
        )

    try:
        checked_address(email)
    except WatcherError:
        return refused(
            "Cette adresse e-mail n’est pas valide : vérifiez-la (par exemple nom@exemple.fr).",
            "email",
        )
    try:
        pending = optin.request_subscription(
            store, email, taxonomy=taxonomy_for(settings), **chosen
        )
    except WatcherError:  # ids the form never offers: an old page, a hand-made post
        return refused(
            "Ces choix de thèmes, de types ou de portée ne sont pas valides : "
            "rechargez la page, puis cochez-les à nouveau.",
            "choices",
        )
    background = None
    if pending is not None:
        background = BackgroundTask(
            optin.send_confirmation, settings, request.app.state.secret, pending, state.transport
        )
    response = _page(request, "sent.html")
    response.background = background
    return response


# --- confirm -----------------------------------------------------------------


def _expired(request: Request) -> Response:
    return _notice(
        request,
        "Lien expiré",
        "Ce lien de confirmation a expiré. Refaites la demande : un nouveau lien vous sera envoyé.",
        410,
    )


def _by_confirm_link(
    request: Request, use: Callable[..., Any], then: Callable[[Any], Response]
) -> Response:
    """``then(use(store, settings, secret, token))``, or the page for a bad link."""
    app = request.app.state
    try:
        found = use(app.store, app.settings, app.secret, request.path_params["token"])
    except LinkExpired:
        return _expired(request)
    except optin.InvalidLink:
        return _invalid_link(request)
    return then(found)


async def confirm_page(request: Request) -> Response:
    return _by_confirm_link(
        request,
        optin.pending_request,
        lambda pending: _page(request, "confirm.html", pending=pending),
    )


async def confirm_submit(request: Request) -> Response:
    def to_manage_page(subscriber: dict[str, Any]) -> Response:
        token = subscriber_token(request.app.state.secret, subscriber)
        return RedirectResponse(f"../gerer/{token}?etat=confirme", status_code=303)

    return _by_confirm_link(request, optin.confirm, to_manage_page)


# --- manage and unsubscribe ----------------------------------------------------


def _subscriber(request: Request) -> dict[str, Any] | None:
    key = read_subscriber_token(request.app.state.secret, request.path_params["token"])
    return log.get_subscriber(request.app.state.store, key=key) if key else None


async def manage_page(request: Request) -> Response:
    sub = _subscriber(request)
    if sub is None:
        return _invalid_link(request)
    text, true_of = MANAGE_STATES.get(request.query_params.get("etat", ""), ("", ()))
    done = text if sub["status"] in true_of else ""
    return _page(request, "manage.html", sub=sub, done=done)


async def manage_submit(request: Request) -> Response:
    sub = _subscriber(request)
    if sub is None:
        return _invalid_link(request)
    form = await request.form()
    action = str(form.get("action", ""))
    store, settings = request.app.state.store, request.app.state.settings
    token = request.path_params["token"]
    if action == "desabonner":
        if sub["status"] != "unsubscribed":
            log.update_subscriber(store, sub["id"], status="unsubscribed")
        # Post/redirect/get: a reload shows the page again instead of posting again.
        return RedirectResponse(f"../desabonner/{token}", status_code=303)
    if sub["status"] == "unsubscribed":  # coming back goes through the form (opt-in)
        return _page(request, "manage.html", 409, sub=sub, done="")
    if action in ("suspendre", "reprendre"):
        status = "paused" if action == "suspendre" else "active"
        log.update_subscriber(store, sub["id"], status=status)
        state = "suspendu" if action == "suspendre" else "repris"
    elif action == "enregistrer":
        chosen = _choices(form)
        try:
            update_subscriber(store, sub["email"], taxonomy=taxonomy_for(settings), **chosen)
        except WatcherError:
            error = "Ces choix ne sont pas valides."
            return _page(request, "manage.html", 400, sub=sub, done="", error=error)
        state = "enregistre"
    else:
        return _page(request, "manage.html", 400, sub=sub, done="", error="Action inconnue.")
    return RedirectResponse(f"{token}?etat={state}", status_code=303)


async def unsubscribe_page(request: Request) -> Response:
    sub = _subscriber(request)
    if sub is None:
        return _invalid_link(request)
    return _page(request, "unsubscribe.html", sub=sub, done=sub["status"] == "unsubscribed")


async def unsubscribe_submit(request: Request) -> Response:
    """The page's button, or a mail client's RFC 8058 one-click POST
    (``List-Unsubscribe=One-Click``): no session, no CSRF token, the signed key is
    the proof; the answer is 200 either way."""
    sub = _subscriber(request)
    if sub is None:
        return _invalid_link(request)
    if sub["status"] != "unsubscribed":
        log.update_subscriber(request.app.state.store, sub["id"], status="unsubscribed")
    return _page(request, "unsubscribe.html", sub=sub, done=True)
