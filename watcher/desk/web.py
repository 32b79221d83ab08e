"""Shared helpers of the desk's views: templates, flash messages, label names."""

from __future__ import annotations

import re
import secrets
from collections import OrderedDict
from datetime import date, datetime
from functools import partial
from typing import Any

from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from watcher.base.clock import PARIS
from watcher.base.resources import BUNDLED_TEMPLATES
from watcher.base.taxonomy import taxonomy_for
from watcher.base.weeks import french_date, week_label, week_of
from watcher.desk.curation import TEXT_MAX
from watcher.desk.security import csrf_token, current_user
from watcher.desk.templates import CheckedTemplates
from watcher.exceptions import WatcherError
from watcher.publish.render import environment
from watcher.publish.sanitize import safe_url
from watcher.settings import Settings

STATIC_DIR = BUNDLED_TEMPLATES / "desk" / "static"


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


FIELD_NAMES = {
    "status": "statut",
    "pinned": "à la une",
    "title": "titre",
    "summary": "résumé",
    "order": "ordre",
    "labels.type": "type",
    "labels.themes": "thèmes",
    "labels.axes": "axes",
    "labels.scope": "portée",
    "labels.deadline": "date limite",
    "labels.relevant": "pertinent",
    "labels.event": "dates de l’événement",
    "editorial": "mot de l’équipe",
    "publish": "publication",
    "unpublish": "publication retirée",
    "new_edition": "nouvelle édition",
}
STATUS_NAMES = {"kept": "retenu", "dropped": "écarté", "candidate": "candidat"}


def _decision_value(value: Any, field: str, names: dict[str, dict[str, str]]) -> str:
    """A decision's before/after value as a curator reads it."""
    if value is None or value == [] or value == "":
        return "—"
    if isinstance(value, bool) or field == "labels.relevant":
        return "oui" if value else "non"
    group = {
        "labels.type": "types",
        "labels.themes": "themes",
        "labels.axes": "axes",
        "labels.scope": "scopes",
    }.get(field)
    if group:
        values = value if isinstance(value, list) else [value]
        return ", ".join(names[group].get(v, v) for v in values)
    if field == "status":
        return STATUS_NAMES.get(value, str(value))
    if field == "labels.deadline":
        return _fr_date(value)
    if field == "labels.event":
        return event_text(value)
    if field == "order":
        return "modifié"
    text = str(value)
    return text if len(text) <= 60 else text[:57] + "…"


def _rank(order: Any, item_id: Any) -> int | None:
    position = (order or {}).get(str(item_id)) if isinstance(order, dict) else None
    return position + 1 if isinstance(position, int) else None


def _decision_change(decision: dict[str, Any], names: dict[str, dict[str, str]]) -> str:
    """ "before → after" of a decision; a reorder as the item's ranks, "3 → 1"."""
    field = decision["field"]
    if field == "order":
        before = _rank(decision["before"], decision["item_id"])
        after = _rank(decision["after"], decision["item_id"])
        if before is not None and after is not None:
            return f"{before} → {after}"
    return (
        f"{_decision_value(decision['before'], field, names)} → "
        f"{_decision_value(decision['after'], field, names)}"
    )


def _moment_fr(value: str) -> str:
    day = _fr_date(value[:10])
    return f"{day} à {value[11:16].replace(':', ' h ')}" if len(value) > 10 else day


def event_text(event: Any) -> str:
    """An event's dates and place as a curator reads them (French)."""
    if not isinstance(event, dict) or not event.get("start"):
        return "—"
    text = _moment_fr(str(event["start"]))
    if event.get("end"):
        end = str(event["end"])
        same_day = end[:10] == str(event["start"])[:10]
        text += (
            f" – {end[11:16].replace(':', ' h ')}"
            if same_day and len(end) > 10
            else f" au {_moment_fr(end)}"
        )
    if event.get("place"):
        text += f", {event['place']}"
    return text


def desk_templates(settings: Settings) -> CheckedTemplates:
    """The desk's templates (folder ``desk`` of the override chain) and its filters."""
    env = environment(settings, "desk", strict=False)
    env.filters.update(
        fr_date=_fr_date,
        safe_href=safe_url,  # links from the web: http(s) only
        decision_value=partial(_decision_value, names=taxonomy_for(settings).names),
        decision_change=partial(_decision_change, names=taxonomy_for(settings).names),
        event_text=event_text,
        fr_datetime=_fr_datetime,
    )
    env.globals.update(field_names=FIELD_NAMES, week_label=week_label, text_max=TEXT_MAX)
    return CheckedTemplates(env, settings)


_ERRORS_FR = [
    (
        re.compile(r"bulletin (\S+) edition (\d+) was already published"),
        "Le bulletin {0} (édition {1}) est déjà publié.",
    ),
    (
        re.compile(r"bulletin (\S+) edition (\d+) was already sent \((\d+) message"),
        "Le bulletin {0} (édition {1}) est déjà parti vers les abonnés ({2} message(s)) : "
        "sa publication ne peut plus être reprise. Ouvrez une nouvelle édition pour le corriger.",
    ),
    (
        re.compile(r"bulletin (\S+): edition (\d+) is the current one, not edition (\d+)"),
        "Le bulletin {0} a changé depuis l’affichage de cette page (édition {2}) : "
        "l’édition {1} est la courante. Rien n’a été fait ; vérifiez la page à jour.",
    ),
    (
        re.compile(r"bulletin (\S+) edition (\d+) is already open"),
        "L’édition {1} du bulletin {0} est déjà ouverte : il se modifie directement.",
    ),
    (
        re.compile(r"bulletin (\S+) (?:edition \d+ )?is (?:already )?published"),
        "Le bulletin {0} est publié : ouvrez une nouvelle édition pour le corriger.",
    ),
    (re.compile(r"decision (\d+) was already undone"), "Cette modification a déjà été annulée."),
    (re.compile(r"^no decision (\d+)$"), "Modification {0} introuvable."),
    (re.compile(r"a '(\S+)' decision cannot be undone"), "Cette action ne s’annule pas."),
    (
        re.compile(r"item (\d+) is not in the bulletin"),
        "Gardez d’abord cet élément pour le déplacer dans sa rubrique.",
    ),
    (
        re.compile(r"bulletin (\S+) has no published edition"),
        "Le bulletin {0} n’est pas publié : il se modifie directement.",
    ),
    (
        re.compile(r"week '([^']*)': the year must be between (\d+) and (\d+)"),
        "Semaine « {0} » invalide : l’année doit être comprise entre {1} et {2}.",
    ),
    (re.compile(r"week '([^']*)': .*"), "Semaine « {0} » invalide : attendu par exemple 2026-W48."),
    (re.compile(r"no item with id (\d+)"), "Élément {0} introuvable."),
    (
        re.compile(r"^(?:item|decision|edition) id '(.*)': expected a number$"),
        "Identifiant « {0} » invalide.",
    ),
    (re.compile(r"deadline '([^']*)': .*"), "Date limite « {0} » invalide (AAAA-MM-JJ)."),
    (
        re.compile(r"label (\w+) '([^']*)': unknown"),
        "Étiquette « {1} » inconnue ({0}) : rien n’a été enregistré.",
    ),
    (re.compile(r"event\.start is required"), "Indiquez le jour de début de l’événement."),
    (re.compile(r"event\.end is before event\.start"), "La fin de l’événement précède son début."),
    (re.compile(r"event\.(\w+): '([^']*)'"), "Date ou heure de l’événement « {1} » invalide."),
    (
        re.compile(r"editorial: at most (\d+) characters"),
        "Le mot de l’équipe dépasse {0} caractères.",
    ),
    (
        re.compile(r"^title: at most (\d+) characters"),
        "Le titre dépasse {0} caractères : rien n’a été enregistré.",
    ),
    (
        re.compile(r"^summary: at most (\d+) characters"),
        "Le résumé dépasse {0} caractères : rien n’a été enregistré.",
    ),
    (re.compile(r"^nothing selected$"), "Aucun élément coché."),
    (re.compile(r"status '([^']*)': expected"), "Action « {0} » inconnue."),
    (re.compile(r"no source with id '([^']*)'"), "Source « {0} » absente du fichier des sources."),
    (
        # (?s): every problem of the file, not its first line only.
        re.compile(r"(?s)the change would make the file invalid: (.*)"),
        "Modification refusée, le fichier des sources deviendrait invalide : {0}",
    ),
    (
        re.compile(r"is written inline: edit it by hand"),
        "Cette source est écrite sur une ligne : modifiez le fichier à la main.",
    ),
    (
        re.compile(r"something follows the sources list"),
        "Le fichier des sources a du contenu après la liste : ajoutez la source à la main.",
    ),
    (
        re.compile(r"^password: at least (\d+) characters"),
        "Mot de passe : {0} caractères au moins.",
    ),
    (re.compile(r"^(\S+): no answer within (\d+) s"), "{0} : pas de réponse en {1} s."),
    (re.compile(r"^(\S+): (.*)"), "{0} : {1}"),
]


def translate(patterns: list[tuple[re.Pattern[str], str]], text: str) -> str | None:
    """The French of the first pattern matching ``text`` (its groups filled in)."""
    for pattern, french in patterns:
        match = pattern.search(text)
        if match:
            return french.format(*match.groups())
    return None


# The subscribers' library speaks English (the CLI's language); its messages
# are built from these pieces, so the desk translates piece by piece.
_SUBSCRIBER_PIECES_FR = [
    (re.compile(r"\bline (\d+): "), "ligne {0} : "),
    (re.compile(r"\bfield '(\w+)': "), "champ « {0} » : "),
    (re.compile(r"^email: "), ""),
    (
        re.compile(r"not a (?:valid|single plain) e-mail address: '([^']*)'"),
        "adresse e-mail non valide : « {0} »",
    ),
    (re.compile(r"not a (?:valid|single plain) e-mail address"), "adresse e-mail non valide"),
    (re.compile(r"unreadable header: (.*)"), "en-tête illisible : {0}"),
    (re.compile(r"empty e-mail address"), "adresse e-mail vide"),
    (
        re.compile(r"(\w+): unknown id\(s\) ([^;]*); expected some of (.*)"),
        "{0} : identifiant(s) inconnu(s) {1} ; attendus parmi {2}",
    ),
    (re.compile(r"^themes : "), "thèmes : "),
    (re.compile(r"^scope : "), "portée : "),
    (re.compile(r"no subscriber <([^>]*)>"), "aucun·e abonné·e <{0}>"),
    (
        re.compile(r"<([^>]*)> unsubscribed(?: on (\S+))?: only they can subscribe again"),
        "<{0}> s’est désabonné·e : seule cette personne peut se réabonner, "
        "par le formulaire d’abonnement",
    ),
    (
        re.compile(r"cannot read the file: .*codec can't decode.*"),
        "fichier illisible : pas en UTF-8",
    ),
    (re.compile(r"cannot read the file: (.*)"), "fichier illisible : {0}"),
    (
        re.compile(r"the header has no 'email' column \(found (.*)\)"),
        "l’en-tête n’a pas de colonne « email » (colonnes : {0})",
    ),
    (re.compile(r"is already on line (\d+)"), "figure déjà ligne {0}"),
    (re.compile(r"longer than (\d+) characters"), "plus de {0} caractères"),
    (
        re.compile(r"(\d+) field\(s\) where the header has (\d+)"),
        "{0} champ(s) alors que l’en-tête en a {1}",
    ),
]


def french_subscriber_error(message: str) -> str:
    """A subscribers' error (form, CSV import) in French, piece by piece."""
    for pattern, french in _SUBSCRIBER_PIECES_FR:
        message = pattern.sub(lambda m, f=french: f.format(*m.groups()), message)
    first = message.split(" ", 1)[0]
    if "." in first:  # an imported file's name leads: keep it as written
        return message
    return message[:1].upper() + message[1:]


# An id from a URL or a form: ASCII digits only (str.isdigit() also takes '²',
# which int() refuses) and at most 18 of them, so it fits the 64-bit integer
# columns of SQLite and PostgreSQL (a longer one overflows the driver).
_ID = re.compile(r"[0-9]{1,18}")


def parse_id(value: object, what: str = "item") -> int:
    """The id in ``value`` (a path parameter or a form field); WatcherError for
    anything else, which the desk answers with a French 404 or 400."""
    text = str(value)
    if not _ID.fullmatch(text):
        shown = text if len(text) <= 24 else f"{text[:24]}…"  # not 5000 digits back
        raise WatcherError(f"{what} id '{shown}': expected a number")
    return int(text)


def french_error(message: str) -> str:
    """The library's (English) error as the curators read it."""
    return translate(_ERRORS_FR, message) or f"Action impossible : {message}"


class FlashBox:
    """Flash messages kept on the server (a bounded map, one desk process): the
    session cookie holds only the box's id, so a long import report never makes
    it pass the browsers' 4 kB cookie limit."""

    def __init__(self, boxes: int = 2000, per_box: int = 200) -> None:
        self.boxes = boxes
        self.per_box = per_box
        self._messages: OrderedDict[str, list[tuple[str, str]]] = OrderedDict()

    def add(self, box: str, kind: str, message: str) -> None:
        messages = self._messages.setdefault(box, [])
        self._messages.move_to_end(box)
        if len(messages) < self.per_box:
            messages.append((kind, message[:2000]))
        while len(self._messages) > self.boxes:
            self._messages.popitem(last=False)

    def pop(self, box: str | None) -> list[tuple[str, str]]:
        return self._messages.pop(box, []) if box else []


def flash(request: Request, message: str, kind: str = "info") -> None:
    box = request.session.get("flash")
    if not isinstance(box, str):
        box = secrets.token_urlsafe(12)
        request.session["flash"] = box
    request.app.state.flashes.add(box, kind, message)


def take_flashes(request: Request) -> list[tuple[str, str]]:
    return request.app.state.flashes.pop(request.session.pop("flash", None))


def render(request: Request, template: str, status_code: int = 200, **context: Any) -> Response:
    messages = take_flashes(request)
    response = request.app.state.templates.TemplateResponse(
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
    return response


def is_fetch(request: Request) -> bool:
    """A request sent by desk.js (progressive enhancement), which wants a fragment back."""
    return request.headers.get("x-requested-with") == "fetch"


def back(url: str) -> RedirectResponse:
    return RedirectResponse(url, status_code=303)


def fragment(request: Request, template: str, **context: Any) -> Response:
    return request.app.state.templates.TemplateResponse(
        request, template, {"csrf": csrf_token(request), "user": current_user(request), **context}
    )


def html(text: str, status_code: int = 200) -> HTMLResponse:
    return HTMLResponse(text, status_code=status_code)
