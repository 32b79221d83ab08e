"""The week's triage view and the actions on its items.

Every action is a plain form POST answered by a redirect back to the week (the
desk works without JavaScript). desk.js sends the same forms with fetch and
the header ``X-Requested-With: fetch``; it then gets the changed cards back,
followed by the new lines of the decisions log, and swaps them in place
(reorders get the section's new order as JSON), so no action reloads the page.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

from markupsafe import escape
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

from watcher.base.clock import PARIS
from watcher.base.taxonomy import taxonomy_for
from watcher.base.weeks import parse_week, week_dates, week_of
from watcher.desk import curation
from watcher.desk.security import login_required, post_form
from watcher.desk.web import (
    FIELD_NAMES,
    back,
    flash,
    fragment,
    french_error,
    html,
    is_fetch,
    parse_id,
    render,
)
from watcher.desk.week_view import (
    BANDS,
    OTHERS,
    STATES,
    Filters,
    kept_counts,
    one_card,
    section_order,
    week_cards,
    week_sections,
)
from watcher.exceptions import WatcherError
from watcher.publish.editorial import editorial_html
from watcher.store import Store
from watcher.store import bulletins as store_bulletins
from watcher.store import delivery as store_delivery
from watcher.store import desk as desk_store

JOURNAL_SIZE = 15


def _week(request: Request) -> str:
    week = request.path_params["week"]
    parse_week(week)
    return week


def _state(request: Request) -> tuple[Any, Any]:
    return request.app.state.store, request.app.state.settings


def edition_state(store: Store, week: str) -> dict[str, Any]:
    current = store_bulletins.current_edition(store, week)
    published = bool(current and current["status"] == "published")
    return {
        "edition": current["edition"] if current else None,
        "published": published,
        # Messages of the published edition already handed to the mail server: with
        # none, the publication can still be taken back (as `bulletin unpublish`).
        "handed_over": (
            store_delivery.handed_over_count(store, week, current["edition"]) if published else 0
        ),
        "published_at": current["published_at"] if current else None,
        "published_by": current["published_by"] if current else None,
        "curated": store_bulletins.is_curated(store, week),
        "editorial": (current or {}).get("editorial") or "",
    }


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
    latest = store_bulletins.latest_item_week(store)
    if latest is not None and latest < current:
        return latest
    return current


def neighbours(week: str) -> tuple[str, str]:
    monday, _sunday = week_dates(week)
    return week_of(monday - timedelta(days=7)), week_of(monday + timedelta(days=7))


def journal(store: Store, week: str) -> tuple[list[dict[str, Any]], dict[int, str]]:
    """The week's latest decisions and the titles of their items."""
    decisions = desk_store.list_decisions(store, week=week, limit=JOURNAL_SIZE)
    ids = sorted({d["item_id"] for d in decisions if d["item_id"]})
    titles = {r["id"]: r["title"] for r in store_bulletins.load_items(store, ids=ids)}
    return decisions, titles


@login_required
async def week_page(request: Request) -> Response:
    store, settings = _state(request)
    week = _week(request)
    taxonomy = taxonomy_for(settings)
    filters = Filters.from_query(request.query_params, taxonomy)
    cards = week_cards(store, week, settings)
    sections = week_sections(store, week, settings, cards)
    for section in sections:
        section["shown"] = sum(1 for c in section["items"] if filters.matches(c))
    shown = sum(s["shown"] for s in sections)
    state = edition_state(store, week)
    decisions, titles = journal(store, week)
    kept, closed = kept_counts(cards)
    return render(
        request,
        "week.html",
        week=week,
        sections=sections,
        filters=filters,
        shown=shown,
        bands=BANDS,
        states=STATES,
        others=OTHERS,
        state=state,
        editorial_preview=editorial_html(state["editorial"]),
        decisions=decisions,
        titles=titles,
        previous_week=neighbours(week)[0],
        next_week=neighbours(week)[1],
        count=len(cards),
        kept=kept,
        closed=closed,
    )


def _return_to(request: Request, week: str, anchor: str = "") -> Response:
    """Back to the week as the curator was seeing it (its filters), at the card."""
    path = f"/semaine/{week}"
    try:
        referer = urlsplit(request.headers.get("referer", ""))
    except ValueError:  # a header with an unclosed "[": back to the week, unfiltered
        referer = urlsplit("")
    query = f"?{referer.query}" if referer.path == path and referer.query else ""
    return back(f"{path}{query}{anchor}")


async def _respond(
    request: Request, week: str, item_ids: list[int], decision_ids: list[int]
) -> Response:
    store, settings = _state(request)
    if not is_fetch(request):
        return _return_to(request, week, f"#item-{item_ids[0]}" if len(item_ids) == 1 else "")
    cards = [c for c in (one_card(store, week, settings, i) for i in item_ids) if c]
    decisions = [d for d in (desk_store.get_decision(store, i) for i in decision_ids) if d]
    titles = {c["id"]: c["display_title"] for c in cards}
    return fragment(
        request,
        "_changed.html",
        cards=cards,
        week=week,
        state=edition_state(store, week),
        decisions=decisions,
        titles=titles,
    )


def _bad_request(request: Request, exc: WatcherError) -> Response:
    """400 for a request the desk's own pages never send, in French: a fragment
    for desk.js, a small page for a plain form (no redirect: nothing to retry)."""
    message = escape(french_error(exc.message))
    if is_fetch(request):
        return html(f"<p class='error' role='alert'>{message}</p>", status_code=400)
    return html(
        "<!DOCTYPE html><html lang='fr'><head><meta charset='utf-8'>"
        "<title>Requête invalide</title></head><body><h1>Requête invalide</h1>"
        f"<p>{message}</p><p><a href='/'>Retour</a></p></body></html>",
        status_code=400,
    )


def _refused(request: Request, week: str, exc: WatcherError, anchor: str = "") -> Response:
    message = french_error(exc.message)
    if is_fetch(request):
        return html(f"<p class='error' role='alert'>{escape(message)}</p>", status_code=409)
    flash(request, message, "error")
    return _return_to(request, week, anchor)


class Shown:
    """The values an edit form showed, sent back in its hidden ``vu_*`` fields
    (``vu=1`` says they are there): read as the form itself is read."""

    PREFIX = "vu_"

    def __init__(self, form: Any) -> None:
        self.form = form

    @classmethod
    def of(cls, form: Any) -> Shown | None:
        return cls(form) if form.get("vu") == "1" else None

    def get(self, key: str, default: Any = None) -> Any:
        return self.form.get(self.PREFIX + key, default)

    def getlist(self, key: str) -> list[Any]:
        return self.form.getlist(self.PREFIX + key)

    def __contains__(self, key: str) -> bool:
        return self.PREFIX + key in self.form


def _edited_meanwhile(exc: curation.EditedMeanwhile) -> str:
    fields = ", ".join(
        f"« {FIELD_NAMES.get(field, field)} »" + (f" (par {who})" if who else "")
        for field, who in exc.fields.items()
    )
    return (
        f"Modifié entre-temps, depuis l’ouverture de ce formulaire : {fields}. Rien n’a "
        "été enregistré, pour ne pas effacer ce changement."
    )


async def _apply(
    request: Request,
    changes: list[tuple[str, Any]],
    seen: list[tuple[str, Any]] | None = None,
    form: Any = None,
) -> Response:
    store, settings = _state(request)
    week = _week(request)
    item_id = parse_id(request.path_params["item_id"])
    try:
        decisions = curation.apply_changes(
            store, week, item_id, changes, user=request.state.user, settings=settings, seen=seen
        )
    except curation.EditedMeanwhile as exc:
        message = _edited_meanwhile(exc)
        card = one_card(store, week, settings, item_id)
        if is_fetch(request) or card is None:
            hint = " Copiez votre saisie si besoin, puis rouvrez « Modifier » pour repartir "
            hint += "de la version à jour."
            return _refused(request, week, WatcherError(message + hint), f"#item-{item_id}")
        # Without JavaScript: the item as it is now, the form filled with what the
        # curator typed; sending it again knowingly replaces the other change.
        flash(request, message + " Vérifiez ci-dessous, puis enregistrez de nouveau.", "error")
        typed = {key: str(form.get(key)) for key in form if key not in MULTI}
        if "type" in form:  # the labels form: an unticked box is not sent at all
            typed.update({key: [str(v) for v in form.getlist(key)] for key in MULTI})
        return render(
            request,
            "edit.html",
            status_code=409,
            item=card,
            week=week,
            state=edition_state(store, week),
            typed=typed,
        )
    except WatcherError as exc:
        return _refused(request, week, exc, f"#item-{item_id}")
    return await _respond(request, week, [item_id], decisions)


MULTI = ("themes", "axes")


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


def text_changes(form: Any) -> list[tuple[str, Any]]:
    return [("title", str(form.get("title", ""))), ("summary", str(form.get("summary", "")))]


@post_form
async def set_text(request: Request) -> Response:
    form = await request.form()
    shown = Shown.of(form)
    return await _apply(request, text_changes(form), text_changes(shown) if shown else None, form)


def event_from_form(form: Any) -> dict[str, Any] | None:
    """The event fields of the labels form as ``EventInfo.to_dict()``'s shape."""

    def moment(prefix: str) -> str | None:
        day = str(form.get(f"event_{prefix}_date", "")).strip()
        hour = str(form.get(f"event_{prefix}_time", "")).strip()
        if not day:
            return f"T{hour}" if hour else None  # a time alone: refused by EventInfo
        return f"{day}T{hour}" if hour else day

    start, end = moment("start"), moment("end")
    place = str(form.get("event_place", "")).strip()
    if not (start or end or place):
        return None
    return {"start": start, "end": end, "place": place or None}


def label_changes(form: Any) -> list[tuple[str, Any]]:
    changes: list[tuple[str, Any]] = [
        ("labels.type", str(form.get("type", ""))),
        ("labels.themes", [str(v) for v in form.getlist("themes")]),
        ("labels.axes", [str(v) for v in form.getlist("axes")]),
        ("labels.scope", str(form.get("scope", ""))),
        ("labels.deadline", str(form.get("deadline", ""))),
    ]
    if "event_start_date" in form:
        changes.append(("labels.event", event_from_form(form)))
    return changes


@post_form
async def set_labels(request: Request) -> Response:
    form = await request.form()
    shown = Shown.of(form)
    return await _apply(request, label_changes(form), label_changes(shown) if shown else None, form)


@post_form
async def move_item(request: Request) -> Response:
    store, settings = _state(request)
    week = _week(request)
    item_id = parse_id(request.path_params["item_id"])
    form = await request.form()
    direction = -1 if form.get("direction") == "up" else 1
    try:
        decision = curation.move(
            store, week, item_id, direction, user=request.state.user, settings=settings
        )
    except WatcherError as exc:
        return _refused(request, week, exc, f"#item-{item_id}")
    if not is_fetch(request):
        return _return_to(request, week, f"#item-{item_id}")
    card = one_card(store, week, settings, item_id)
    section = card["section"] if card else ""
    line = ""
    if decision is not None:
        decisions = [desk_store.get_decision(store, decision)]
        line = fragment(
            request,
            "_journal_lines.html",
            decisions=decisions,
            titles={item_id: card["display_title"] if card else ""},
            state=edition_state(store, week),
        ).body.decode()
    return JSONResponse(
        {
            "section": section,
            "order": section_order(store, week, settings, section),
            "journal": line,
        }
    )


@post_form
async def bulk(request: Request) -> Response:
    """Keep or drop the selected cards (one transaction)."""
    store, settings = _state(request)
    week = _week(request)
    form = await request.form()
    status = str(form.get("status", ""))
    try:
        ids = sorted({parse_id(v) for v in form.getlist("ids")})
    except WatcherError as exc:
        # The desk's checkboxes only send real ids: this form was forged or mangled.
        return _bad_request(request, exc)
    if not ids:
        return _refused(request, week, WatcherError("nothing selected"))
    try:
        decisions = curation.apply_bulk(
            store, week, ids, status, user=request.state.user, settings=settings
        )
    except WatcherError as exc:
        return _refused(request, week, exc)
    if not is_fetch(request):
        flash(request, f"{len(ids)} élément(s) : {'gardés' if status == 'kept' else 'écartés'}.")
    return await _respond(request, week, ids, decisions)


@login_required
async def edit_page(request: Request) -> Response:
    """The editing forms of one card: a page of its own, or a fragment for desk.js."""
    store, settings = _state(request)
    week = _week(request)
    item_id = parse_id(request.path_params["item_id"])
    card = one_card(store, week, settings, item_id)
    if card is None:
        raise curation.CurationError(f"no item with id {item_id}")
    context = {"item": card, "week": week, "state": edition_state(store, week)}
    if is_fetch(request):
        return fragment(request, "_edit.html", **context)
    return render(request, "edit.html", **context)


@post_form
async def add_item(request: Request) -> Response:
    store, settings = _state(request)
    week = _week(request)
    item_id = parse_id(request.path_params["item_id"])
    try:
        curation.add_to_week(store, week, item_id, user=request.state.user, settings=settings)
        flash(request, "Élément ajouté au bulletin de la semaine.")
    except WatcherError as exc:
        flash(request, french_error(exc.message), "error")
    return back(f"/semaine/{week}#item-{item_id}")


@post_form
async def undo_decision(request: Request) -> Response:
    store, _settings = _state(request)
    decision_id = parse_id(request.path_params["decision_id"], "decision")
    decision = desk_store.get_decision(store, decision_id)
    week = decision["week"] if decision else None
    try:
        curation.undo(store, decision_id, user=request.state.user)
        flash(request, "Modification annulée.")
    except curation.ChangedSince as exc:
        what = FIELD_NAMES.get(exc.field, exc.field)
        who = f" par {exc.by}" if exc.by else ""
        flash(
            request,
            f"Annulation refusée : « {what} » a été modifié depuis{who}, et l’annuler "
            "effacerait ce changement. Rien n’a été fait : annulez d’abord la modification "
            "la plus récente, ou corrigez directement.",
            "error",
        )
    except WatcherError as exc:
        flash(request, french_error(exc.message), "error")
    return back(f"/semaine/{week}" if week else "/")


@login_required
async def decisions_fragment(request: Request) -> Response:
    store, _settings = _state(request)
    week = _week(request)
    decisions, titles = journal(store, week)
    return fragment(
        request,
        "_decisions.html",
        week=week,
        decisions=decisions,
        titles=titles,
        state=edition_state(store, week),
    )


WEEK = "/semaine/{week}"
# Ids are read by parse_id, not Starlette's `:int` (unbounded digits: an
# id too large for the database reached it and crashed, and a non-number
# got Starlette's bare English 404 instead of the desk's French one).
ITEM = WEEK + "/element/{item_id}"
ROUTES = [
    Route("/", home),
    Route(WEEK, week_page),
    Route(WEEK + "/journal", decisions_fragment),
    Route(WEEK + "/lot", bulk, methods=["POST"]),
    Route(ITEM + "/modifier", edit_page),
    Route(ITEM + "/statut", set_status, methods=["POST"]),
    Route(ITEM + "/une", set_pin, methods=["POST"]),
    Route(ITEM + "/texte", set_text, methods=["POST"]),
    Route(ITEM + "/etiquettes", set_labels, methods=["POST"]),
    Route(ITEM + "/deplacer", move_item, methods=["POST"]),
    Route(ITEM + "/ajouter", add_item, methods=["POST"]),
    Route("/decisions/{decision_id}/annuler", undo_decision, methods=["POST"]),
]
