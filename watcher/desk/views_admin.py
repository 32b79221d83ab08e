"""Sign-in and out, the curator's password, subscribers (the readers' own pages are in
``public``)."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from watcher.base.taxonomy import taxonomy_for
from watcher.deliver import subscribers as subs
from watcher.desk.accounts import authenticate, set_password
from watcher.desk.security import (
    DEVICE_COOKIE,
    DEVICE_MAX_AGE_S,
    LOCAL_USER,
    csrf_protected,
    device_cookie,
    login_required,
    post_form,
    safe_next,
    session_token,
    sign_in,
    sign_out,
    throttle_keys,
)
from watcher.desk.web import back, flash, french_error, french_subscriber_error, render
from watcher.exceptions import WatcherError
from watcher.store import delivery as log

SEARCH_MAX = 320  # the longest address: a longer search cannot match one


async def login_page(request: Request) -> Response:
    return render(request, "login.html", suite=safe_next(request.query_params.get("suite", "/")))


@csrf_protected
async def login_submit(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username", "")).strip()[:100]
    password = str(form.get("password", ""))
    store = request.app.state.store
    throttle = request.app.state.login_throttle
    keys = throttle_keys(request, username)
    suite = safe_next(str(form.get("suite", "/")))
    wait = throttle.wait(keys)
    if wait:
        # Too early after failures: refused without looking at the password.
        flash(request, f"Trop d’essais infructueux : réessayez dans {wait} s.", "error")
        response = render(request, "login.html", suite=suite, status_code=429)
        response.headers["Retry-After"] = str(wait)
        return response
    user = await run_in_threadpool(authenticate, store, username, password)
    if user is None:
        throttle.failed(keys)
        flash(request, "Identifiant ou mot de passe incorrect.", "error")
        return render(request, "login.html", suite=suite, status_code=401)
    throttle.succeeded([*keys, f"user:{user.lower()}"])
    sign_in(request, user)
    response = back(suite)
    response.set_cookie(
        DEVICE_COOKIE,
        device_cookie(request.app.state.secret, user),
        max_age=DEVICE_MAX_AGE_S,
        httponly=True,
        samesite="strict",
        secure=request.app.state.settings.desk.secure_cookies,
    )
    return response


@csrf_protected
async def logout(request: Request) -> Response:
    sign_out(request)
    return back("/connexion")


@login_required
async def account_page(request: Request) -> Response:
    return render(request, "account.html")


@post_form
async def account_password(request: Request) -> Response:
    """A new password ends every session of the account, this one included."""
    form = await request.form()
    user = request.state.user
    store = request.app.state.store
    if user == LOCAL_USER:
        flash(request, "Aucun compte : créez-en un avec `watcher users add NOM`.", "error")
        return back("/compte")
    if str(form.get("new", "")) != str(form.get("confirm", "")):
        flash(request, "Les deux nouveaux mots de passe diffèrent.", "error")
        return back("/compte")
    if await run_in_threadpool(authenticate, store, user, str(form.get("current", ""))) is None:
        flash(request, "Mot de passe actuel incorrect.", "error")
        return back("/compte")
    try:
        set_password(store, user, str(form.get("new", "")))
    except WatcherError as exc:
        flash(request, french_error(exc.message), "error")
        return back("/compte")
    request.session.clear()
    flash(request, "Mot de passe changé : reconnectez-vous (vos autres sessions sont fermées).")
    return back("/connexion")


@login_required
async def subscribers_page(request: Request) -> Response:
    store = request.app.state.store
    taxonomy = taxonomy_for(request.app.state.settings)
    # The last week sent: its figures, and each reader's message (the latest edition's).
    sent_week, sent_counts = log.delivery_counts(store)
    last_message: dict[int, dict[str, Any]] = {}
    for row in log.list_deliveries(store, week=sent_week) if sent_week else []:
        last_message[row["subscriber_id"]] = row  # ordered by id: a later edition wins
    search = request.query_params.get("q", "").strip()[:SEARCH_MAX]
    return render(
        request,
        "subscribers.html",
        subscribers=log.list_subscribers(store, search=search),
        search=search,
        total=log.count_subscribers(store),
        sent_week=sent_week,
        sent_counts=sent_counts,
        last_message=last_message,
        themes=taxonomy.ids("themes"),
        types=taxonomy.ids("types"),
        scopes=taxonomy.ids("scopes"),
    )


@post_form
async def subscriber_add(request: Request) -> Response:
    form = await request.form()
    try:
        saved = subs.save_subscriber(
            request.app.state.store,
            str(form.get("email", "")),
            str(form.get("name", "")),
            [str(v) for v in form.getlist("themes")],
            [str(v) for v in form.getlist("types")],
            [str(v) for v in form.getlist("scopes")],
            taxonomy=taxonomy_for(request.app.state.settings),
        )
        done = {"added": "ajouté·e", "updated": "mis·e à jour", "unchanged": "déjà abonné·e"}
        flash(request, f"Abonné·e {form.get('email')} {done[saved.outcome]}.")
    except WatcherError as exc:
        flash(request, french_subscriber_error(exc.message), "error")
    return back("/abonnes")


@post_form
async def subscriber_remove(request: Request) -> Response:
    form = await request.form()
    try:
        subs.remove_subscriber(request.app.state.store, str(form.get("email", "")))
        flash(request, f"{form.get('email')} désabonné·e.")
    except WatcherError as exc:
        flash(request, french_subscriber_error(exc.message), "error")
    return back(subscribers_url(str(form.get("q", ""))))


def subscribers_url(search: str) -> str:
    """The Abonnés page, still searching what the curator searched."""
    search = search.strip()[:SEARCH_MAX]
    return f"/abonnes?{urlencode({'q': search})}" if search else "/abonnes"


def upload_name(upload: Any) -> str:
    """The uploaded file's name for messages only (never a path on disk)."""
    name = str(getattr(upload, "filename", "") or "").replace("\\", "/").rsplit("/", 1)[-1]
    name = "".join(c for c in name if c.isprintable()).strip(". ")
    return (name[:80] + "…" if len(name) > 80 else name) or "import.csv"


@post_form
async def subscriber_import(request: Request) -> Response:
    form = await request.form()
    upload = form.get("file")
    if upload is None or not hasattr(upload, "read"):
        flash(request, "Choisissez un fichier CSV.", "error")
        return back("/abonnes")
    data = await upload.read()
    name = upload_name(upload)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "import.csv"  # the name sent by the browser is not a path
        path.write_bytes(data)
        try:
            report = subs.import_csv(
                request.app.state.store,
                path,
                taxonomy=taxonomy_for(request.app.state.settings),
            )
        except WatcherError as exc:
            flash(request, french_subscriber_error(exc.message.replace(str(path), name)), "error")
            return back("/abonnes")
    flash(
        request,
        f"Import : {len(report.added)} ajouté·e(s), {len(report.updated)} mis·e(s) à jour, "
        f"{len(report.existing)} déjà présent·e(s), {len(report.left)} désabonné·e(s) "
        f"non réinscrit·e(s), {len(report.errors)} ligne(s) en erreur.",
    )
    for error in report.errors:
        flash(request, french_subscriber_error(error.replace(str(path), name)), "error")
    return back("/abonnes")


ROUTES = [
    Route("/connexion", login_page, methods=["GET"]),
    Route("/connexion", login_submit, methods=["POST"]),
    Route("/deconnexion", logout, methods=["POST"]),
    Route("/session/jeton", session_token, methods=["GET"]),
    Route("/compte", account_page, methods=["GET"]),
    Route("/compte/mot-de-passe", account_password, methods=["POST"]),
    Route("/abonnes", subscribers_page),
    Route("/abonnes/ajouter", subscriber_add, methods=["POST"]),
    Route("/abonnes/retirer", subscriber_remove, methods=["POST"]),
    Route("/abonnes/importer", subscriber_import, methods=["POST"]),
]
