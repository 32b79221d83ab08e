"""The closing date an item states, from French phrasings (own rules, no dateparser).

Rules, from LABELS.md: a closing date the text states, with a year that can be
determined (written, or resolved against the publication date); a month alone
gives nothing; with several sessions the last closing date; never a
publication date, an event's start or the end of a public consultation.
Every date in the text is found, then judged by the words just before it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime

MONTHS = {
    "janvier": 1, "janv": 1, "fevrier": 2, "février": 2, "fevr": 2, "févr": 2, "fev": 2,
    "fév": 2, "mars": 3, "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7,
    "juil": 7, "aout": 8, "août": 8, "septembre": 9, "sept": 9, "sep": 9, "octobre": 10,
    "oct": 10, "novembre": 11, "nov": 11, "decembre": 12, "décembre": 12, "dec": 12, "déc": 12,
}  # fmt: skip
_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
_DAY = r"(?P<day>[0-3]?\d)(?:er|ᵉʳ)?"
_TEXT_DATE = re.compile(
    rf"(?<![\d/])(?:{_DAY}|(?P<first>premier))\s+(?P<month>{_MONTH_ALT})\.?"
    r"(?:\s+(?P<year>20\d\d))?(?![\w])",
    re.I,
)
_NUM_DATE = re.compile(
    r"(?<![\d/.])(?P<day>[0-3]?\d)[/.](?P<month>[01]?\d)[/.](?P<year>20\d\d|\d\d)(?![\d/])"
)
_ISO_DATE = re.compile(r"(?<!\d)(?P<year>20\d\d)-(?P<month>[01]\d)-(?P<day>[0-3]\d)(?!\d)")
# "du 3 au 15 mars 2026", "du 3 mars au 15 avril 2026": the start lacks what the end gives.
_RANGE_START = re.compile(r"\b(?:du|entre le|entre)\s*$", re.I)

# Words just before a date (within the same sentence) that make it a closing date.
_DEADLINE_CUE = re.compile(
    r"(date\s+limite|limite\s+de\s+(?:dépôt|depot|candidature|réponse|reponse|remise|soumission|"
    r"retour|transmission|inscription)|jusqu'?\s*(?:au|à|a)\b|jusqu’au|avant\s+(?:le|la\s+date\s+du)?|"
    r"au\s+plus\s+tard|cl[ôo]tur|date\s+butoir|[ée]ch[ée]ance|fin\s+(?:des|du|de\s+(?:la|l'))\s*"
    r"(?:dépôt|depot|candidatures|inscriptions|appel)|deadline|dépôts?\s+(?:des\s+(?:dossiers|"
    r"candidatures|projets)\s+)?(?:jusqu|avant)|ferme\s+le|fermeture|relève|releve|"
    r"(?:candidatures?|dossiers?|propositions?|projets?|réponses?|inscriptions?)\s+"
    r"(?:sont\s+|seront\s+)?(?:attendu|reçu|recevable|à\s+(?:déposer|remettre|envoyer|transmettre)|"
    r"ouvert|possible)|"
    r"premier\s+dépôt|1er\s+dépôt|session|vague|lev[ée]e|s[ée]lection|"
    r"cl[ôo]s|cl[ôo]t\b|relev|date\s+de\s+(?:dépôt|depot|clôture|cloture|remise|fin)|"
    r"d'ici\s+(?:au|le|à|a)\b|attendu\w*\s+(?:pour|avant|au\s+plus|d'ici|le|au)|"
    r"souhait[ée]+\s+(?:pour|avant|au|le)|(?:repouss|prolong|report)\w*\s+(?:au|jusqu)|"
    r"remise\s+des\s+(?:candidatures|dossiers|offres|propositions|projets)|soumi\w*|"
    r"d[ée]pos\w*)",
    re.I,
)
# Dates that are something else: when the closest cue before the date is one of these.
_NOT_DEADLINE = re.compile(
    r"(publi[ée]|mis\s+à\s+jour|mise\s+à\s+jour|modifi[ée]|paru|consultation|avis\s+du\s+public|"
    r"participation\s+du\s+public|d[ée]cret|arr[êe]t[ée]|loi\s+n|ordonnance|entr\w*\s+en\s+vigueur|"
    r"à\s+compter|a\s+compter|à\s+partir|a\s+partir|depuis|ouverture|ouvert\s+(?:le|depuis)|"
    r"lancé|lancement|se\s+tiendra|aura\s+lieu|webinaire|webinar|r[ée]union|"
    r"jury|r[ée]sultats|annonce\s+des\s+laur|lauréats|notification|démarrage|début|"
    r"réalis|commenc|né\s+le|communiqué|inform[ée]|journ[ée]e\s+de\s+lancement|mis\w*\s+en\s+service|achev|termin|op[ée]rationnel)",
    re.I,
)
_CONSULTATION = re.compile(
    r"consultation|avis\s+du\s+public|participation\s+du\s+public|enquête\s+publique", re.I
)
# Dates for what a project must achieve, not for applying.
_VETO = re.compile(
    r"mis\w*\s+en\s+service|ach[eè]v|r[ée]alis[ée]|op[ée]rationnel|versement|paiement|initialement|"
    r"engag[ée]es|dur[ée]e\s+du\s+projet",
    re.I,
)
_YEAR = re.compile(r"(?<!\d)(20\d\d)(?!\d)")
# Sentences end at punctuation or a bullet; a lone line break does not end one
# (PDF transcriptions break "Date limite\nde dépôt :\nle 17 mai").
_SENTENCE_BREAK = re.compile(r"[.!?;]\s|[•▪►✓]|\n\s*[-*]\s|\n\n")
# The end of a range "du 3 mars au 15 avril": closing when the range is about applications.
_RANGE_END = re.compile(r"\b(?:au|jusqu'au|et\s+le|et)\s*$|\s[-–]\s*$", re.I)
_BARE_RANGE = re.compile(r"\b(?:du|entre\s+le)\s+\d{1,2}(?:er)?\s+(?:au|et\s+le)\s*$", re.I)
_RANGE_TOPIC = re.compile(
    r"candidat|d[ée]p[ôo]t|d[ée]pos|ouvert|appel|inscri|soumi|dossier|r[ée]ponse|proposition|"
    r"demande",
    re.I,
)


@dataclass
class FoundDate:
    start: int
    end: int
    value: date | None
    has_year: bool
    day: int
    month: int
    text: str


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def find_dates(text: str) -> list[FoundDate]:
    found: list[FoundDate] = []
    for m in _TEXT_DATE.finditer(text):
        day = 1 if m.group("first") else int(m.group("day"))
        month = MONTHS[m.group("month").lower().rstrip(".")]
        year = int(m.group("year")) if m.group("year") else None
        found.append(
            FoundDate(
                m.start(), m.end(), _valid(year, month, day) if year else None,
                year is not None, day, month, m.group(0),
            )
        )  # fmt: skip
    for pattern in (_NUM_DATE, _ISO_DATE):
        for m in pattern.finditer(text):
            year = int(m.group("year"))
            year = year + 2000 if year < 100 else year
            day, month = int(m.group("day")), int(m.group("month"))
            value = _valid(year, month, day)
            if value:
                found.append(FoundDate(m.start(), m.end(), value, True, day, month, m.group(0)))
    found.sort(key=lambda d: d.start)
    return found


def _resolve_years(dates: list[FoundDate], text: str, published: date | None) -> None:
    """Give a year to "15 mars": from a range's end, else the publication date."""
    for i, d in enumerate(dates):
        if d.has_year:
            continue
        # "du 3 mars au 15 avril 2026": take the year of the next dated neighbour.
        nxt = dates[i + 1] if i + 1 < len(dates) else None
        if nxt and nxt.has_year and nxt.start - d.end < 20 and nxt.value:
            year = nxt.value.year - (1 if d.month > nxt.month else 0)
            d.value = _valid(year, d.month, d.day)
            continue
        if published is None:
            # No publication date: the year the text itself talks about, if any.
            years = [int(y) for y in _YEAR.findall(text)]
            if years:
                year = max(set(years), key=lambda y: (years.count(y), y))
                d.value = _valid(year, d.month, d.day)
            continue
        if published:
            candidate = _valid(published.year, d.month, d.day)
            # A closing date is after publication; "15 janvier" read in November is next year.
            if candidate and (published - candidate).days > 60:
                candidate = _valid(published.year + 1, d.month, d.day)
            d.value = candidate


def _context_before(text: str, start: int, width: int = 110) -> str:
    window = text[max(0, start - width) : start]
    parts = _SENTENCE_BREAK.split(window)
    return (parts[-1] if parts else window).replace("\n", " ")


def _is_deadline(text: str, d: FoundDate, dates: list[FoundDate]) -> bool:
    before = _context_before(text, d.start)
    # In "du 3 au 15 mars", the "3" is a start: only the end of a range can close.
    if _RANGE_START.search(before):
        return False
    if _CONSULTATION.search(before) or _VETO.search(before):
        return False  # a consultation's end date is not a deadline (LABELS.md)
    if _BARE_RANGE.search(before):  # "dépôt du 2 au 12 décembre"
        return bool(_RANGE_TOPIC.search(before) or _DEADLINE_CUE.search(before[:-8]))
    previous = [o for o in dates if o.end <= d.start and d.start - o.end <= 6]
    if previous and _RANGE_END.search(before):
        # "du 22 avril au 20 juin": the range's subject is before its start.
        head = _context_before(text, previous[-1].start)
        return _nearest_is_cue(head, _RANGE_TOPIC)
    return _nearest_is_cue(before)


def _nearest_is_cue(before: str, extra: re.Pattern[str] | None = None) -> bool:
    """The nearest cue wins: "publié le 3 mars, candidatures jusqu'au 30 avril"."""
    cues = [m.start() for m in _DEADLINE_CUE.finditer(before)]
    if extra is not None:
        cues += [m.start() for m in extra.finditer(before)]
    if not cues:
        return False
    negs = [m.start() for m in _NOT_DEADLINE.finditer(before)]
    return not (negs and max(negs) > max(cues))


def extract_deadline(
    text: str,
    published: date | datetime | str | None = None,
    *,
    title: str = "",
    require: re.Pattern[str] | None = None,
) -> tuple[date | None, str | None]:
    """(closing date, the words it was read from), or (None, None).

    ``require``: a pattern the words before a date must also match (for events
    and trainings, only a date for registering counts).
    """
    if isinstance(published, str):
        try:
            published = date.fromisoformat(published[:10])
        except ValueError:
            published = None
    if isinstance(published, datetime):
        published = published.date()
    full = f"{title}\n{text}" if title else text
    dates = find_dates(full)
    if not dates:
        return None, None
    _resolve_years(dates, full, published)
    chosen: FoundDate | None = None
    for d in dates:
        if d.value is None or not _is_deadline(full, d, dates):
            continue
        if require is not None and not require.search(_context_before(full, d.start)):
            continue
        if chosen is None or d.value > chosen.value:  # several sessions: the last
            chosen = d
    if chosen is None:
        return None, None
    evidence = full[max(0, chosen.start - 60) : chosen.end].replace("\n", " ").strip()
    return chosen.value, evidence
