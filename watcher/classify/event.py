"""When and where an event or a training takes place: start, end, times, place.

The deadline's family (``dates.py`` finds and dates; the words before a date
judge it): every date of the text that is not a closing, publication or
registration date is scored by what leads to it ("aura lieu le", "se tiendra",
"rendez-vous", a weekday, a time right after it, the title); the best one,
the first written among equals, is the start. A range ("du 7 au 10 octobre",
"les 12 et 13 mars") gives the end; a time after the date ("de 9h30 à 12h",
"à 14 h") makes the start and end wall-clock times (Europe/Paris, as
written). With several sessions, the first one stated. The place is a "Lieu :"
line, else "en ligne" / "visioconférence", else the venue or town after "à",
"au", "chez" in the event's sentence, as written.
"""

from __future__ import annotations

import re
from datetime import date, datetime, time

from watcher.classify.dates import (
    LIST_LINK,
    RANGE_LINK,
    SENTENCE_BREAK,
    FoundDate,
    dated,
    find_times,
    leading_words,
    range_partner,
    sentence_of,
)
from watcher.classify.deadline import as_date, nearest_cue
from watcher.models import EventInfo

_I = re.I
_EVENT_CUE = re.compile(
    r"aura\s+lieu|a\s+eu\s+lieu|se\s+tiendr\w+|se\s+tient|se\s+d[ée]roul\w+|rendez-vous|"
    r"organis\w+|propos\w+|accueill\w+|ouvr\w+\s+ses\s+portes|\bdates?\s*:|quand\s*:|"
    r"\bsession|journ[ée]e|webinaire|webinar|atelier|rencontre|conf[ée]rence|colloque|forum|"
    r"salon|visite|s[ée]minaire|matinale|formation|module|assises|congr[èe]s|petit-d[ée]jeuner|"
    r"\bprochain",
    _I,
)
_ARTICLE = re.compile(r"\b(?:le|les|du|ce)\s*$", _I)  # "le 12 mars": a day announced
# Dates that are not the event's: publication, registration, the past of a project.
_NOT_EVENT = re.compile(
    r"publi[ée]|mis\s+à\s+jour|mise\s+à\s+jour|inscri\w*|candidat\w*|r[ée]ponse|"
    r"avant\s+le|jusqu'?\s*(?:au|à)|date\s+limite|cl[ôo]tur|depuis|cr[ée]{2}\w*\s+en|"
    r"\bn[ée]e?s?\s+le\b|adopt|sign[ée]|d[ée]cret|arr[êe]t[ée]\s+du|loi\s+du",
    _I,
)
_END_CUE = re.compile(
    r"se\s+termine\w*|s'ach[eè]ve\w*|prend\s+fin|prendra\s+fin|jusqu'?\s*au|fin\s+(?:le|du)|"
    r"derni[eè]re?\s+(?:journ[ée]e|s[ée]ance|module)",
    _I,
)
_ONLINE = re.compile(
    r"\ben\s+ligne\b|visio\w*|\bdistanciel|[àa]\s+distance|\bwebinaire|\bwebinar|\bzoom\b|"
    r"\bteams\b|\bMOOC\b",
    _I,
)
_PLACE_LABEL = re.compile(r"(?:^|\n|\s)(?:lieu|adresse|o[ùu])\s*:\s*(?P<place>[^\n.;]{2,90})", _I)
# "à Metz", "au Centre des congrès de Reims", "à la Maison de la Région à Strasbourg".
_CAP = r"[A-ZÉÈÊÀÂÎÔÛÇ][\w'’-]+"
_VENUE = (
    r"(?:centre|parc|palais|maison|h[ôo]tel|espace|salle|campus|salon|cit[ée]|halle|"
    r"auditorium|amphith[ée][âa]tre|locaux|si[èe]ge|château|domaine|ferme|usine|technop[ôo]le|"
    r"p[ôo]le|institut|universit[ée]|lyc[ée]e|mairie|chambre|station|plateforme|"
    r"m[ée]diath[èe]que|biblioth[èe]que|gymnase|z[ée]nith|arsenal|abbaye|caserne)"
)
# After the venue's noun, up to two words that qualify it ("lycée agricole",
# "salle des fêtes", "hôtel d'entreprises"), then names joined by de/du/à…
_QUALIFIER = r"(?:[ \t]+(?:des?[ \t]+|du[ \t]+|d')?(?!de\b|du\b|des\b|le\b|la\b|les\b|et\b|à\b|en\b)[a-zéèêàâîôûç]{3,}){0,2}"
_JOIN = (
    r"(?:[ \t]+(?:de|du|des|et|sur|sous|en|lès|aux|à)[ \t]+(?:la[ \t]+|l'|le[ \t]+)?|[ \t]+d'|"
    r"[ \t]+de[ \t]+l'|[ \t]*-[ \t]*|[ \t]+)"
)
_PLACE = re.compile(
    rf"(?:\b(?:à|au|aux|chez|dans\s+(?:les|ses|leurs|nos|ces)\s+locaux\s+(?:de|du|d'|à)|"
    rf"sur\s+le\s+site\s+(?:de|du|d'))\s*(?:la\s+|l'|le\s+)?)"
    rf"(?P<place>(?:(?i:{_VENUE})\b{_QUALIFIER}|{_CAP})(?:{_JOIN}(?:{_CAP}|{_VENUE}\b))*)",
)
_NOT_PLACE = re.compile(
    r"^(?:partir|compter|travers|l'issue|ce\s+jour|cette|ce|cet|nouveau|nouveaux|chaque|"
    r"tous|toutes|propos|l'heure|\d|la\s+suite|l'occasion|lundi|mardi|mercredi|jeudi|vendredi|"
    r"samedi|dimanche|midi|minuit|(?-i:[A-Z]{2,5})$)\b",
    _I,
)


def _score(text: str, dates: list[FoundDate], i: int, title_end: int) -> float:
    d = dates[i]
    before = leading_words(text, dates, i, 140)
    negatives = [m.end() for m in _NOT_EVENT.finditer(before)]
    cues = [m.end() for m in _EVENT_CUE.finditer(before)]
    if negatives and (not cues or max(negatives) > max(cues)):
        return 0.0
    deadline_score, _cue, _blocked = nearest_cue(before)
    if deadline_score and not cues:
        return 0.0
    cued = bool(cues or _ARTICLE.search(before))
    score = 1.0 + (1.0 if cued else 0.0) + (0.5 if d.weekday else 0.0)
    if d.start < title_end:
        score += 1.0
    if _time_after(text, dates, i):
        score += 1.0
    if range_partner(dates, i, text) is not None:
        score += 0.5
    return score


def _time_after(text: str, dates: list[FoundDate], i: int) -> tuple[time, time | None] | None:
    """A time (or a "de 9h à 12h" span) right after date ``i``, before the next date."""
    d = dates[i]
    limit = dates[i + 1].start if i + 1 < len(dates) else len(text)
    window = text[d.end : min(limit, d.end + 70)]
    cut = SENTENCE_BREAK.search(window)
    if cut:
        window = window[: cut.start()]
    times = find_times(window)
    if not times or times[0].start > 25:
        return None
    first = time(times[0].hour, times[0].minute)
    second = None
    if len(times) > 1:
        link = window[times[0].end : times[1].start]
        if re.fullmatch(r"\s*(?:à|a|-|–|jusqu'à)\s*", link, _I):
            second = time(times[1].hour, times[1].minute)
    return first, second


def _last_linked(text: str, dates: list[FoundDate], i: int) -> int:
    """The last date of the range or list date ``i`` opens (``i`` itself if none)."""
    while i + 1 < len(dates):
        link = text[dates[i].end : dates[i + 1].start]
        if not (RANGE_LINK.match(link) or LIST_LINK.match(link)):
            break
        i += 1
    return i


def _stated_end(text: str, dates: list[FoundDate], i: int) -> date | None:
    """ "… ouvre le 7 septembre et se termine le 15 novembre": an end said in words."""
    start = dates[i]
    for other in dates[i + 1 :]:
        if other.start - start.end > 250 or other.value is None:
            break
        before = leading_words(text, dates, dates.index(other), 140)
        if _END_CUE.search(before) and not _NOT_EVENT.search(before.replace("jusqu", "")):
            return other.value if other.value > start.value else None
    return None


def _moment(day: date, at: time | None) -> date | datetime:
    return datetime.combine(day, at) if at is not None else day


def find_place(text: str, around: tuple[int, int] | None = None, title_end: int = 0) -> str | None:
    """The place as written: a "Lieu :" line, else the venue or town of the event's
    sentence (``around``: the date's span), of the title, of the opening lines;
    "En ligne" for an online event that names no place."""
    label = _PLACE_LABEL.search(text)
    if label:
        return _tidy(label.group("place"))
    chunks: list[str] = []
    if around is not None:
        s, e = sentence_of(text, *around)
        chunks += [text[around[1] : e] + " " + text[s : around[0]]]
    chunks += [text[:title_end], text[title_end : title_end + 600]]
    for chunk in chunks:
        for m in _PLACE.finditer(chunk):
            place = _tidy(m.group("place"))
            if place and not _NOT_PLACE.match(place):
                return place
        if _ONLINE.search(chunk):
            return "En ligne"
    return None


def _tidy(place: str) -> str | None:
    place = re.sub(r"\s+", " ", place).strip(" ,:;–-")
    place = re.sub(r"\s+(?:de|du|des|d'|la|le|les|l'|et|sur|en|aux)$", "", place, flags=_I)
    return place[:90] or None


def extract_event(
    text: str,
    published: date | datetime | str | None = None,
    *,
    title: str = "",
) -> tuple[EventInfo | None, list[str] | None]:
    """(start, end and place of the event or training the text announces, why), or
    (None, None) when it states no day."""
    full = f"{title}\n{text}" if title else text
    dates = dated(full, as_date(published))
    if not dates:
        return None, None
    title_end = len(title) + 1 if title else 0
    scored = [(_score(full, dates, i, title_end), i) for i, d in enumerate(dates) if d.value]
    scored = [(s, i) for s, i in scored if s > 0]
    if not scored:
        return None, None
    best = max(s for s, _ in scored)
    # Among equals the first written: the first session, the day before the next ones.
    index = min(i for s, i in scored if s >= best - 0.25)
    d = dates[index]
    start_day, end_day = d.value, None
    partner = range_partner(dates, index, full)
    if partner is not None and partner.value and partner.value > d.value:
        end_day = partner.value
    if end_day is None:
        end_day = _stated_end(full, dates, index)
    times = _time_after(full, dates, index)
    if times is None:  # "8, 10 et 15 juin 2027, de 9h à 12h30": the list's hours
        times = _time_after(full, dates, _last_linked(full, dates, index))
    start_time, end_time = times if times else (None, None)
    start = _moment(start_day, start_time)
    if end_day is not None:
        end = _moment(end_day, end_time)
    elif end_time is not None and start_time is not None and end_time > start_time:
        end = _moment(start_day, end_time)
    else:
        end = None
    place = find_place(full, (d.start, (partner or d).end), title_end)
    why = [f"«…{full[max(0, d.start - 60) : d.end + 25].strip()}…»".replace("\n", " ")]
    if end_day is not None:
        why.append("end: the other end of its range")
    if start_time is not None:
        why.append("time written after the date")
    if place:
        why.append(f"place: {place}")
    return EventInfo(start=start, end=end, place=place), why
