"""The week's curation: candidates by section, item actions, search, preview, publish."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response

from watcher.base.clock import PARIS
from watcher.base.taxonomy import taxonomy_for
from watcher.base.weeks import parse_week, week_dates, week_of
from watcher.desk import curation
from watcher.desk.explain import explain
from watcher.desk.security import login_required, post_form
from watcher.desk.web import back, flash, fragment, french_error, html, is_fetch, render
from watcher.exceptions import WatcherError
from watcher.publish.bulletin import build_bulletin, candidates, filter_bulletin, render_email
from watcher.publish.selection import SECTION_ORDER, section_titles
from watcher.settings import Settings
from watcher.store import Store
from watcher.store import bulletins as store_bulletins
from watcher.store import desk as desk_store

ORDERED_SECTIONS = {"une", "reglementation", "actualite", "formation", "publication"}


def _week(request: Request) -> str:
    week = request.path_params["week"]
    parse_week(week)
    return week


def _state(request: Request) -> tuple[Any, Any]:
    return request.app.state.store, request.app.state.settings


def edition_state(store: Store, week: str) -> dict[str, Any]:
    current = store_bulletins.current_edition(store, week)
    return {
        "edition": current["edition"] if current else None,
        "published": bool(current and current["status"] == "published"),
        "published_at": current["published_at"] if current else None,
        "published_by": current["published_by"] if current else None,
        "curated": store_bulletins.is_curated(store, week),
    }


def _decorate(row: dict[str, Any], curated: bool, explanations: dict[str, Any]) -> dict[str, Any]:
    labels = row.get("labels") or {}
    entry = row.get("entry") or {}
    status = row["status"] if curated else ("kept" if row.get("auto") else "candidate")
    why: dict[str, list[str]] = {}
    if labels.get("type"):
        why[f"type:{labels['type']}"] = explain(explanations, "type", labels["type"])
    for group in ("themes", "axes"):
        for label in labels.get(group) or []:
            why[f"{group}:{label}"] = explain(explanations, group, label)
    if labels.get("scope"):
        why[f"scope:{labels['scope']}"] = explain(explanations, "scope", labels["scope"])
    return {
        **row,
        "labels": labels,
        "effective_status": status,
        "display_title": entry.get("title") or row.get("title") or "(sans titre)",
        "display_summary": entry.get("summary") or row.get("summary") or "",
        "title_override": entry.get("title") or "",
        "summary_override": entry.get("summary") or "",
        "why": why,
        "relevance_why": explain(explanations, "relevant", "relevant"),
        "deadline_why": explain(explanations, "deadline", "deadline"),
    }


def week_sections(store: Store, week: str, settings: Settings) -> list[dict[str, Any]]:
    """Candidates grouped as the bulletin's sections, kept ones first in bulletin order."""
    rows = candidates(store, week, settings)
    curated = store_bulletins.is_curated(store, week)
    explanations = desk_store.get_explanations(store, [r["id"] for r in rows])
    groups: dict[str, list[dict[str, Any]]] = {k: [] for k in [*SECTION_ORDER, "autres"]}
    for row in rows:
        item = _decorate(row, curated, explanations.get(row["id"], {}))
        labels = item["labels"]
        kind = labels.get("type") if labels.get("relevant") else None
        groups[kind if kind in groups else "autres"].append(item)
    rank = {"kept": 0, "candidate": 1, "dropped": 2}

    def order(item: dict[str, Any]) -> tuple:
        position = item.get("position")
        return (
            not item["pinned"],
            rank[item["effective_status"]],
            position is None,
            position or 0,
            -item["score"],
        )

    titles = section_titles(settings)
    sections = []
    for kind, items in groups.items():
        if not items:
            continue
        title = titles.get(kind, "Non retenus par le classifieur")
        sections.append(
            {
                "id": kind,
                "title": title,
                "items": sorted(items, key=order),
                "orderable": kind in ORDERED_SECTIONS,
            }
        )
    return sections


@login_required
async def home(request: Request) -> Response:
    wanted = request.query_params.get("semaine", "").strip()
    if wanted:
        try:
            parse_week(wanted)
            return back(f"/semaine/{wanted}")
        except WatcherError as exc:
            flash(request, french_error(exc.message), "error")
    return back(f"/semaine/{default_week(request.app.state.store)}")


def default_week(store: Store) -> str:
    """This week, or the latest week with items when this one has none yet."""
    current = week_of(datetime.now(PARIS))
    weeks = store_bulletins.weeks_with_items(store)
    if weeks and current not in weeks and weeks[-1] < current:
        return weeks[-1]
    return current


def neighbours(week: str) -> tuple[str, str]:
    monday, _sunday = week_dates(week)
    return week_of(monday - timedelta(days=7)), week_of(monday + timedelta(days=7))


@login_required
async def week_page(request: Request) -> Response:
    store, settings = _state(request)
    week = _week(request)
    sections = week_sections(store, week, settings)
    return render(
        request,
        "week.html",
        week=week,
        sections=sections,
        state=edition_state(store, week),
        decisions=desk_store.list_decisions(store, week=week, limit=15),
        titles={i["id"]: i["display_title"] for s in sections for i in s["items"]},
        previous_week=neighbours(week)[0],
        next_week=neighbours(week)[1],
        count=sum(len(s["items"]) for s in sections),
    )


def _find_item(store: Store, week: str, settings: Settings, item_id: int) -> dict[str, Any] | None:
    for section in week_sections(store, week, settings):
        for item in section["items"]:
            if item["id"] == item_id:
                return {**item, "orderable": section["orderable"]}
    return None


async def _after_change(request: Request, week: str, item_id: int | None) -> Response:
    store, settings = _state(request)
    if is_fetch(request) and item_id is not None:
        item = _find_item(store, week, settings, item_id)
        if item is not None:
            return fragment(
                request,
                "_item.html",
                item=item,
                week=week,
                state=edition_state(store, week),
                orderable=item["orderable"],
            )
    anchor = f"#item-{item_id}" if item_id else ""
    return back(f"/semaine/{week}{anchor}")


async def _apply(request: Request, changes: list[tuple[str, Any]]) -> Response:
    store, settings = _state(request)
    week = _week(request)
    item_id = int(request.path_params["item_id"])
    try:
        for field, value in changes:
            curation.apply_change(
                store, week, item_id, field, value, user=request.state.user, settings=settings
            )
    except WatcherError as exc:
        if is_fetch(request):
            return html(
                f"<p class='error'>{_escape(french_error(exc.message))}</p>", status_code=409
            )
        flash(request, french_error(exc.message), "error")
    return await _after_change(request, week, item_id)


def _escape(text: str) -> str:
    from markupsafe import escape

    return str(escape(text))


@post_form
async def set_status(request: Request) -> Response:
    form = await request.form()
    return await _apply(request, [("status", str(form.get("status", "")))])


@post_form
async def set_pin(request: Request) -> Response:
    form = await request.form()
    pinned = form.get("pinned") == "1"
    changes: list[tuple[str, Any]] = [("pinned", pinned)]
    if pinned:
        changes.insert(0, ("status", "kept"))  # a pinned item is in the bulletin
    return await _apply(request, changes)


@post_form
async def set_text(request: Request) -> Response:
    form = await request.form()
    return await _apply(
        request,
        [("title", str(form.get("title", ""))), ("summary", str(form.get("summary", "")))],
    )


@post_form
async def set_labels(request: Request) -> Response:
    form = await request.form()
    return await _apply(
        request,
        [
            ("labels.type", str(form.get("type", ""))),
            ("labels.themes", [str(v) for v in form.getlist("themes")]),
            ("labels.axes", [str(v) for v in form.getlist("axes")]),
            ("labels.scope", str(form.get("scope", ""))),
            ("labels.deadline", str(form.get("deadline", ""))),
        ],
    )


@post_form
async def move_item(request: Request) -> Response:
    store, settings = _state(request)
    week = _week(request)
    item_id = int(request.path_params["item_id"])
    form = await request.form()
    direction = -1 if form.get("direction") == "up" else 1
    try:
        curation.move(store, week, item_id, direction, user=request.state.user, settings=settings)
    except WatcherError as exc:
        flash(request, french_error(exc.message), "error")
    # Two cards change places: the whole page is simpler than two fragments.
    return back(f"/semaine/{week}#item-{item_id}")


@post_form
async def add_item(request: Request) -> Response:
    store, settings = _state(request)
    week = _week(request)
    item_id = int(request.path_params["item_id"])
    try:
        curation.add_to_week(store, week, item_id, user=request.state.user, settings=settings)
        flash(request, "Élément ajouté au bulletin de la semaine.")
    except WatcherError as exc:
        flash(request, french_error(exc.message), "error")
    return back(f"/semaine/{week}#item-{item_id}")


@post_form
async def undo_decision(request: Request) -> Response:
    store, _settings = _state(request)
    decision_id = int(request.path_params["decision_id"])
    decision = desk_store.get_decision(store, decision_id)
    week = decision["week"] if decision else None
    try:
        curation.undo(store, decision_id, user=request.state.user)
        flash(request, "Modification annulée.")
    except WatcherError as exc:
        flash(request, french_error(exc.message), "error")
    return back(f"/semaine/{week}" if week else "/")


@post_form
async def publish(request: Request) -> Response:
    store, settings = _state(request)
    week = _week(request)
    try:
        edition = curation.publish_week(store, week, user=request.state.user, settings=settings)
    except WatcherError as exc:
        flash(request, french_error(exc.message), "error")
        return back(f"/semaine/{week}")
    flash(request, f"Bulletin {week} publié (édition {edition}).")
    site_message = await run_in_threadpool(rebuild_archive, store, settings)
    if site_message:
        flash(request, site_message, "info" if "reconstruite" in site_message else "error")
    return back(f"/semaine/{week}")


def rebuild_archive(store: Store, settings: Settings) -> str:
    """Rebuild the static archive after a publication; a message to show."""
    from watcher.publish.site import build_site

    try:
        build_site(store, settings)
    except Exception as exc:  # the bulletin is published: report, don't undo it
        return f"Bulletin publié, mais l’archive n’a pas pu être reconstruite : {exc}"
    return "Archive reconstruite."


@post_form
async def new_edition(request: Request) -> Response:
    store, _settings = _state(request)
    week = _week(request)
    try:
        edition = curation.open_new_edition(store, week, user=request.state.user)
        flash(request, f"Édition {edition} ouverte : le bulletin peut de nouveau être modifié.")
    except WatcherError as exc:
        flash(request, french_error(exc.message), "error")
    return back(f"/semaine/{week}")


@login_required
async def preview_page(request: Request) -> Response:
    store, settings = _state(request)
    week = _week(request)
    theme = request.query_params.get("theme") or ""
    bulletin = build_bulletin(store, week, settings)
    if theme:
        names = taxonomy_for(settings).names["themes"]
        bulletin = filter_bulletin(bulletin, themes=[theme], theme_names=names)
    _html, text = render_email(bulletin, settings)
    return render(
        request,
        "preview.html",
        week=week,
        theme=theme,
        text=text,
        state=edition_state(store, week),
        count=len({e.item_id for e in bulletin.entries}),
    )


@login_required
async def preview_email(request: Request) -> Response:
    """The bulletin's e-mail HTML as subscribers will see it (shown in an iframe)."""
    store, settings = _state(request)
    week = _week(request)
    theme = request.query_params.get("theme") or ""
    bulletin = build_bulletin(store, week, settings)
    if theme:
        names = taxonomy_for(settings).names["themes"]
        bulletin = filter_bulletin(bulletin, themes=[theme], theme_names=names)
    body, _text = render_email(bulletin, settings)
    response = html(body)
    # The mail's own markup: no script may run in it, whatever an item's text says.
    response.headers["Content-Security-Policy"] = (
        "default-src 'none'; img-src https: data:; style-src 'unsafe-inline'; frame-ancestors 'self'"
    )
    return response


@login_required
async def decisions_fragment(request: Request) -> Response:
    store, _settings = _state(request)
    week = _week(request)
    decisions = desk_store.list_decisions(store, week=week, limit=15)
    ids = sorted({d["item_id"] for d in decisions if d["item_id"]})
    titles = {r["id"]: r["title"] for r in store_bulletins.load_items(store, ids=ids)}
    return fragment(
        request,
        "_decisions.html",
        week=week,
        decisions=decisions,
        titles=titles,
        state=edition_state(store, week),
    )


@login_required
async def search_page(request: Request) -> Response:
    store, _settings = _state(request)
    query = request.query_params.get("q", "")
    week = request.query_params.get("semaine", "")
    if week:
        parse_week(week)
    results = desk_store.search_items(store, query) if query.strip() else []
    return render(request, "search.html", query=query, week=week, results=results)
