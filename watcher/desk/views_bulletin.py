"""The week's bulletin as a whole: editorial, preview (per theme), publication,
new edition, and the search that pulls an older item into the week."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, NamedTuple

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from watcher.base.taxonomy import taxonomy_for
from watcher.base.weeks import parse_week
from watcher.desk import curation
from watcher.desk.security import login_required, post_form
from watcher.desk.views_week import (
    WEEK,
    _bad_request,
    _edited_meanwhile,
    _refused,
    _week,
    edition_state,
)
from watcher.desk.web import (
    back,
    flash,
    fragment,
    french_error,
    html,
    is_fetch,
    parse_id,
    render,
)
from watcher.exceptions import WatcherError
from watcher.publish.bulletin import build_bulletin, filter_bulletin, render_email
from watcher.publish.editorial import editorial_html
from watcher.settings import Settings
from watcher.store import Store
from watcher.store import desk as desk_store

# The e-mail's own markup, shown in an iframe: no script may run in it, whatever
# an item's text says; its styles are inline, as in a mail client.
MAIL_CSP = (
    "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
)


@post_form
async def set_editorial(request: Request) -> Response:
    store, settings = request.app.state.store, request.app.state.settings
    week = _week(request)
    form = await request.form()
    text = str(form.get("editorial", ""))
    seen = str(form.get("vu_editorial", "")) if form.get("vu") == "1" else None
    try:
        curation.set_editorial(
            store, week, text, user=request.state.user, settings=settings, seen=seen
        )
    except curation.EditedMeanwhile as exc:
        message = _edited_meanwhile(exc)
        if is_fetch(request):
            hint = " Copiez votre texte si besoin, puis rechargez la page."
            return _refused(request, week, WatcherError(message + hint), "#mot")
        # Without JavaScript: the text as typed, beside the one saved meanwhile.
        flash(request, message + " Comparez, puis enregistrez de nouveau.", "error")
        current = edition_state(store, week)["editorial"]
        return render(
            request,
            "editorial.html",
            status_code=409,
            week=week,
            typed=text,
            current=current,
            editorial_preview=editorial_html(current),
        )
    except WatcherError as exc:
        return _refused(request, week, exc, "#mot")
    if is_fetch(request):
        return fragment(
            request,
            "_editorial_preview.html",
            editorial_preview=editorial_html(edition_state(store, week)["editorial"]),
        )
    flash(request, "Mot de l’équipe enregistré.")
    return back(f"/semaine/{week}#mot")


def _theme(request: Request) -> str:
    """The preview's theme: a theme id of the taxonomy, or "" (every theme)."""
    theme = request.query_params.get("theme") or ""
    return theme if theme in taxonomy_for(request.app.state.settings).ids("themes") else ""


def _bulletin(request: Request, week: str, theme: str) -> Any:
    store, settings = request.app.state.store, request.app.state.settings
    bulletin = build_bulletin(store, week, settings)
    if theme:
        names = taxonomy_for(settings).names["themes"]
        bulletin = filter_bulletin(bulletin, themes=[theme], theme_names=names)
    return bulletin


@login_required
async def preview_page(request: Request) -> Response:
    week = _week(request)
    theme = _theme(request)
    bulletin = _bulletin(request, week, theme)
    _html, text = render_email(bulletin, request.app.state.settings)
    return render(
        request,
        "preview.html",
        week=week,
        theme=theme,
        text=text,
        state=edition_state(request.app.state.store, week),
        count=len({e.item_id for e in bulletin.entries}),
    )


@login_required
async def preview_email(request: Request) -> Response:
    """The bulletin's e-mail HTML as subscribers will see it (shown in an iframe)."""
    week = _week(request)
    body, _text = render_email(
        _bulletin(request, week, _theme(request)), request.app.state.settings
    )
    response = html(body)
    response.headers["Content-Security-Policy"] = MAIL_CSP
    return response


def _shown_edition(form: Any) -> int | None:
    """The edition the page showed (its publish / new edition form says which), so
    a double click or a replayed form acts on that edition or not at all; None
    when the form does not say (a script's POST)."""
    value = str(form.get("edition") or "")
    return parse_id(value, "edition") if value else None


@post_form
async def publish(request: Request) -> Response:
    store, settings = request.app.state.store, request.app.state.settings
    week = _week(request)
    form = await request.form()
    try:
        expected = _shown_edition(form)
    except WatcherError as exc:
        return _bad_request(request, exc)
    try:
        edition = curation.publish_week(
            store, week, user=request.state.user, settings=settings, expected=expected
        )
    except WatcherError as exc:
        flash(request, french_error(exc.message), "error")
        return back(f"/semaine/{week}")
    flash(request, f"Bulletin {week} publié (édition {edition}).")
    await _flash_rebuild(request, "Bulletin publié")
    return back(f"/semaine/{week}")


async def _flash_rebuild(request: Request, done: str) -> None:
    store, settings = request.app.state.store, request.app.state.settings
    rebuilt = await run_in_threadpool(rebuild_archive, store, settings, done)
    flash(request, rebuilt.message, "info" if rebuilt.ok else "error")


class SiteRebuild(NamedTuple):
    """What rebuilding the archive gave: ``ok`` decides the flash's colour, so
    rewording ``message`` cannot turn a failure green."""

    ok: bool
    message: str


def rebuild_archive(store: Store, settings: Settings, done: str = "Bulletin publié") -> SiteRebuild:
    """Rebuild the static archive after a publication (or its withdrawal, ``done``
    saying which); the message names the folder, so a desk serving another folder
    than expected is noticed."""
    from watcher.publish.site import build_site

    try:
        report = build_site(store, settings)
    except Exception as exc:  # the change is committed: report, don't undo it
        return SiteRebuild(False, f"{done}, mais l’archive n’a pas pu être reconstruite : {exc}")
    site_dir = getattr(report, "site_dir", settings.publish.site_dir)
    return SiteRebuild(True, f"Archive reconstruite dans {site_dir}.")


async def _on_shown_edition(
    request: Request, change: Callable[..., int]
) -> tuple[str, int] | Response:
    """``change`` (withdraw, open a new edition) applied to the edition the page showed:
    the week and the edition it returns, or the response that refuses it."""
    week = _week(request)
    form = await request.form()
    try:
        expected = _shown_edition(form)
    except WatcherError as exc:
        return _bad_request(request, exc)
    try:
        edition = change(request.app.state.store, week, user=request.state.user, expected=expected)
    except WatcherError as exc:
        flash(request, french_error(exc.message), "error")
        return back(f"/semaine/{week}")
    return week, edition


@post_form
async def unpublish(request: Request) -> Response:
    """Take back a publication nobody was sent yet (the CLI's `bulletin unpublish`)."""
    outcome = await _on_shown_edition(request, curation.withdraw_week)
    if isinstance(outcome, Response):
        return outcome
    week, edition = outcome
    flash(
        request,
        f"Publication du bulletin {week} reprise : l’édition {edition} est de nouveau "
        "un brouillon, modifiable puis à publier de nouveau.",
    )
    await _flash_rebuild(request, "Publication reprise")
    return back(f"/semaine/{week}")


@post_form
async def new_edition(request: Request) -> Response:
    outcome = await _on_shown_edition(request, curation.open_new_edition)
    if isinstance(outcome, Response):
        return outcome
    week, edition = outcome
    flash(request, f"Édition {edition} ouverte : le bulletin peut de nouveau être modifié.")
    return back(f"/semaine/{week}")


@login_required
async def search_page(request: Request) -> Response:
    store = request.app.state.store
    query = request.query_params.get("q", "")
    week = request.query_params.get("semaine", "")
    if week:
        parse_week(week)
    results = desk_store.search_items(store, query) if query.strip() else []
    return render(request, "search.html", query=query, week=week, results=results)


ROUTES = [
    Route(WEEK + "/mot", set_editorial, methods=["POST"]),
    Route(WEEK + "/apercu", preview_page),
    Route(WEEK + "/apercu/email", preview_email),
    Route(WEEK + "/publier", publish, methods=["POST"]),
    Route(WEEK + "/nouvelle-edition", new_edition, methods=["POST"]),
    Route(WEEK + "/reprendre", unpublish, methods=["POST"]),
    Route("/recherche", search_page),
]
