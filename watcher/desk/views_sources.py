"""The sources page: each source's health in French, pause/resume, "collecter
maintenant", and a new source from a web address (feed discovery)."""

from __future__ import annotations

import logging
import re
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from watcher.config import SourcesFile
from watcher.desk.security import login_required, post_form
from watcher.desk.sources_file import add_source, set_enabled
from watcher.desk.sources_runner import describe_error
from watcher.desk.web import back, flash, french_error, render, translate
from watcher.exceptions import WatcherError
from watcher.store import Store
from watcher.urls import is_http_url, url_problem

if TYPE_CHECKING:
    from watcher.collect.discover import DiscoveryError

logger = logging.getLogger(__name__)

_WARNINGS_FR = [
    (re.compile(r"^never collected$"), "jamais collectée"),
    (
        re.compile(r"^failed in the last (\d+) run\(s\)"),
        "en échec lors des {0} dernière(s) collecte(s)",
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


def warning_fr(text: str) -> str:
    return translate(_WARNINGS_FR, text) or text


def source_rows(store: Store, sources: SourcesFile | None) -> list[dict[str, Any]]:
    """Each source's health: the collect stage's ``source_health`` over sources.yaml,
    else what the store alone knows (sources seen in runs and items)."""
    if sources is not None:
        from watcher.store.health import source_health

        rows = source_health(store, getattr(sources, "sources", sources))
        for row in rows:
            row["warnings_fr"] = [warning_fr(w) for w in row.get("warnings") or []]
            error = row.get("last_error")
            row["error_fr"] = describe_error(error["kind"], error["message"]) if error else ""
        return rows
    from watcher.store.bulletins import source_contributions as from_store

    rows = from_store(store)
    for row in rows:
        row["warnings_fr"] = []
        row["error_fr"] = ""
    return rows


@login_required
async def sources_page(request: Request) -> Response:
    from watcher.store.jobs import open_alerts

    state = request.app.state
    return render(
        request,
        "sources.html",
        sources=source_rows(state.store, state.sources),
        alerts=open_alerts(state.store),
        editable=state.sources_path is not None,
        job=state.collect_runner.current,
    )


def _source_id(request: Request) -> str:
    return request.path_params["source_id"]


def _known(request: Request, source_id: str) -> bool:
    sources = request.app.state.sources
    return sources is not None and any(s.id == source_id for s in sources.sources)


def _flash_lines(request: Request, message: str) -> None:
    """One message per line: a file with several problems lists one a line, and the
    page would run them together in one paragraph."""
    for line in message.splitlines():
        flash(request, line, "error")


async def _set_enabled(request: Request, enabled: bool) -> Response:
    state = request.app.state
    source_id = _source_id(request)
    if state.sources_path is None or not _known(request, source_id):
        flash(request, f"Source « {source_id} » inconnue du fichier des sources.", "error")
        return back("/sources")
    try:
        state.sources = await run_in_threadpool(
            set_enabled, state.sources_path, source_id, enabled, user=request.state.user
        )
    except WatcherError as exc:
        _flash_lines(request, french_error(exc.message))
        return back("/sources")
    flash(request, f"Source « {source_id} » {'reprise' if enabled else 'mise en pause'}.")
    return back(f"/sources#source-{source_id}")


@post_form
async def pause(request: Request) -> Response:
    return await _set_enabled(request, False)


@post_form
async def resume(request: Request) -> Response:
    return await _set_enabled(request, True)


@post_form
async def collect_now(request: Request) -> Response:
    state = request.app.state
    source_id = _source_id(request)
    if not _known(request, source_id):
        flash(request, f"Source « {source_id} » inconnue du fichier des sources.", "error")
        return back("/sources")
    started = state.collect_runner.start(
        state.store, state.settings, state.sources, source_id, request.state.user
    )
    if started:
        flash(request, f"Collecte de « {source_id} » lancée : rechargez la page dans un moment.")
    else:
        flash(request, "Une collecte lancée depuis le bureau est déjà en cours.", "error")
    return back("/sources")


def discovery_error_fr(exc: DiscoveryError) -> str:
    """Why a web address gave no source, in French: the crawl's own message is
    English and technical (a DNS library's words, a child process's stderr)."""
    if exc.kind == "timeout":
        reason = "pas de réponse dans le délai"
    elif exc.kind == "crawl_failed":
        logger.warning("feed discovery failed for %s: %s", exc.url, exc.detail)
        reason = "la recherche de flux a échoué (détail dans le journal du bureau)"
    elif exc.kind == "error":
        # The French says only "unexpected": the English detail is the one clue
        # to what went wrong, so it goes to the log rather than nowhere.
        logger.warning("feed discovery: unexpected error for %s: %s", exc.url, exc.detail)
        reason = f"{describe_error(exc.kind, None)} (détail dans le journal du bureau)"
    else:
        reason = describe_error(exc.kind, None)
    return f"« {exc.url[:200]} » : {reason}. Aucune source ajoutée ; vérifiez l’adresse."


@post_form
async def add(request: Request) -> Response:
    from watcher.collect.discover import DiscoveryError, discover_feeds, yaml_entry

    state = request.app.state
    form = await request.form()
    url = str(form.get("url", "")).strip()
    if state.sources_path is None:
        flash(request, "Le bureau n’a pas de fichier des sources à modifier.", "error")
        return back("/sources")
    if not is_http_url(url):
        flash(request, f"« {url[:200]} » n’est pas une adresse http(s).", "error")
        return back("/sources")
    if url_problem(url):  # an unclosed "[" was a 500; a port past 65535 was written
        flash(
            request,
            f"« {url[:200]} » n’est pas une adresse valide (nom d’hôte, crochets ou port).",
            "error",
        )
        return back("/sources")
    try:
        result = await run_in_threadpool(discover_feeds, url, state.settings.collect, 60)
        state.sources, new_id = await run_in_threadpool(
            add_source,
            Path(state.sources_path),
            yaml_entry(result),
            user=request.state.user,
            origin=url,
        )
    except DiscoveryError as exc:
        flash(request, discovery_error_fr(exc), "error")
        return back("/sources")
    except WatcherError as exc:
        _flash_lines(request, french_error(exc.message))
        return back("/sources")
    found = len(result.get("feeds") or [])
    if found:
        flash(request, f"Source « {new_id} » ajoutée ({found} flux trouvé(s)).")
    else:
        flash(
            request,
            f"Aucun flux trouvé : « {new_id} » ajoutée en pause, avec des sélecteurs HTML à vérifier.",
            "warn",
        )
    return back(f"/sources#source-{new_id}")


ROUTES = [
    Route("/sources", sources_page),
    Route("/sources/ajouter", add, methods=["POST"]),
    Route("/sources/{source_id}/pause", pause, methods=["POST"]),
    Route("/sources/{source_id}/reprise", resume, methods=["POST"]),
    Route("/sources/{source_id}/collecter", collect_now, methods=["POST"]),
]
