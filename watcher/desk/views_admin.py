"""Sign-in, subscribers and sources (the readers' own pages are in ``public``)."""

from __future__ import annotations

import re
import tempfile
from pathlib import Path
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from watcher.base.taxonomy import taxonomy_for
from watcher.config import SourcesFile
from watcher.deliver import subscribers as subs
from watcher.desk.accounts import authenticate
from watcher.desk.security import csrf_protected, login_required, post_form
from watcher.desk.web import back, flash, render
from watcher.exceptions import WatcherError
from watcher.store import Store
from watcher.store import delivery as log


def _safe_next(value: str) -> str:
    # Only a local path: never redirect a signed-in curator to another site.
    return value if value.startswith("/") and not value.startswith("//") else "/"


async def login_page(request: Request) -> Response:
    return render(request, "login.html", suite=_safe_next(request.query_params.get("suite", "/")))


@csrf_protected
async def login_submit(request: Request) -> Response:
    form = await request.form()
    username = str(form.get("username", "")).strip()
    password = str(form.get("password", ""))
    store = request.app.state.store
    throttle = request.app.state.login_throttle
    keys = [f"user:{username.lower()}", f"ip:{request.client.host if request.client else ''}"]
    suite = _safe_next(str(form.get("suite", "/")))
    if throttle.blocked(keys):
        flash(request, "Trop d’essais infructueux : réessayez dans quelques minutes.", "error")
        return render(request, "login.html", suite=suite, status_code=429)
    ok = await run_in_threadpool(authenticate, store, username, password)
    if not ok:
        throttle.failed(keys)
        flash(request, "Identifiant ou mot de passe incorrect.", "error")
        return render(request, "login.html", suite=suite, status_code=401)
    throttle.succeeded(keys)
    csrf = request.session.get("csrf")
    request.session.clear()  # a fresh session at sign-in (no fixation)
    request.session["user"] = username
    request.session["csrf"] = csrf
    return back(_safe_next(str(form.get("suite", "/"))))


@csrf_protected
async def logout(request: Request) -> Response:
    request.session.clear()
    return back("/connexion")


@login_required
async def subscribers_page(request: Request) -> Response:
    store = request.app.state.store
    taxonomy = taxonomy_for(request.app.state.settings)
    return render(
        request,
        "subscribers.html",
        subscribers=log.list_subscribers(store),
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
        flash(request, exc.message, "error")
    return back("/abonnes")


@post_form
async def subscriber_remove(request: Request) -> Response:
    form = await request.form()
    try:
        subs.remove_subscriber(request.app.state.store, str(form.get("email", "")))
        flash(request, f"{form.get('email')} désabonné·e.")
    except WatcherError as exc:
        flash(request, exc.message, "error")
    return back("/abonnes")


@post_form
async def subscriber_import(request: Request) -> Response:
    form = await request.form()
    upload = form.get("file")
    if upload is None or not hasattr(upload, "read"):
        flash(request, "Choisissez un fichier CSV.", "error")
        return back("/abonnes")
    data = await upload.read()
    name = Path(getattr(upload, "filename", "") or "import.csv").name
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(data)
        try:
            report = subs.import_csv(
                request.app.state.store,
                path,
                taxonomy=taxonomy_for(request.app.state.settings),
            )
        except WatcherError as exc:
            flash(request, exc.message.replace(str(path), name), "error")
            return back("/abonnes")
    flash(
        request,
        f"Import : {len(report.added)} ajouté·e(s), {len(report.updated)} mis·e(s) à jour, "
        f"{len(report.existing)} déjà présent·e(s), {len(report.left)} désabonné·e(s) "
        f"non réinscrit·e(s), {len(report.errors)} ligne(s) en erreur.",
    )
    for error in report.errors[:20]:
        flash(request, error.replace(str(path), name), "error")
    return back("/abonnes")


@login_required
async def sources_page(request: Request) -> Response:
    from watcher.store.jobs import open_alerts

    store = request.app.state.store
    rows = source_rows(store, request.app.state.sources)
    return render(request, "sources.html", sources=rows, alerts=open_alerts(store))


_WARNINGS_FR = [
    (re.compile(r"^never collected$"), "jamais collectée"),
    (
        re.compile(r"^failed in the last (\d+) run\(s\): (.*)$"),
        "en échec lors des {0} dernière(s) collecte(s) : {1}",
    ),
    (
        re.compile(r"^no new item since (\S+) \(expected one every ~(\d+) days\)$"),
        "aucun nouvel élément depuis le {0} (un attendu tous les ~{1} jours)",
    ),
    (
        re.compile(r"^no new item ever \(expected one every ~(\d+) days\)$"),
        "aucun élément jamais reçu (un attendu tous les ~{0} jours)",
    ),
]


def _warning_fr(text: str) -> str:
    for pattern, french in _WARNINGS_FR:
        match = pattern.match(text)
        if match:
            return french.format(*match.groups())
    return text


def source_rows(store: Store, sources: SourcesFile | None) -> list[dict[str, Any]]:
    """Each source's health: the collect stage's ``source_health`` over sources.yaml,
    else what the store alone knows (sources seen in runs and items)."""
    if sources is not None:
        from watcher.store.health import source_health

        rows = source_health(store, getattr(sources, "sources", sources))
        for row in rows:
            row["warnings_fr"] = [_warning_fr(w) for w in row.get("warnings") or []]
        return rows
    from watcher.store.bulletins import source_contributions as from_store

    rows = from_store(store)
    for row in rows:
        row["warnings_fr"] = []
    return rows
