"""Dates and times written in French texts, and the years they leave out.

The common ground of the deadline and the event extractors: every date of a
text is found with its span ("jeudi 12 mars 2027", "1er avril", "15/07/27",
"2027-03-12", the "12" of "les 12 et 13 mars"), a year-less date gets the
year the text itself implies (a range's other end, a dated date of the same
sentence, the publication date, the text's other dates, in that order; never
today), and wall-clock times ("9h30", "14 h", "09:30", "midi") are found for
events. Pure functions over strings, no I/O.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

MONTHS = {
    "janvier": 1, "janv": 1, "fevrier": 2, "février": 2, "fevr": 2, "févr": 2, "fev": 2,
    "fév": 2, "mars": 3, "avril": 4, "avr": 4, "mai": 5, "juin": 6, "juillet": 7,
    "juil": 7, "aout": 8, "août": 8, "septembre": 9, "sept": 9, "sep": 9, "octobre": 10,
    "oct": 10, "novembre": 11, "nov": 11, "decembre": 12, "décembre": 12, "dec": 12, "déc": 12,
}  # fmt: skip
_MONTH_ALT = "|".join(sorted(MONTHS, key=len, reverse=True))
_ABBREVIATIONS = {"janv", "fevr", "févr", "fev", "fév", "avr", "juil", "sept", "sep", "oct", "nov",
                  "dec", "déc"}  # fmt: skip
_FULL_MONTHS = set(MONTHS) - _ABBREVIATIONS
WEEKDAY = r"(?:lundi|mardi|mercredi|jeudi|vendredi|samedi|dimanche)"
_DAY = r"(?P<day>[0-3]?\d)(?:er|ᵉʳ|e)?"
# Patterns start at the day: a weekday before it ("jeudi 12 mars") is read apart
# (``_weekday_before``); an optional weekday in front would be tried at every
# character of a 40,000-character page.
TEXT_DATE = re.compile(
    rf"(?<![\d/.])(?:{_DAY}|(?P<first>premier))\s+"
    rf"(?P<month>{_MONTH_ALT})(?P<dot>\.)?(?:\s+(?P<year>20\d\d))?(?![\w])",
    re.I,
)
NUM_DATE = re.compile(
    r"(?<![\d/.,])(?P<day>[0-3]?\d)[/.-](?P<month>[01]?\d)"
    r"[/.-](?P<year>20\d\d|\d\d)(?![\d/]|[.,]\d)",
)
_WEEKDAY_BEFORE = re.compile(rf"{WEEKDAY}\s+$", re.I)
# "15/07" without a year: a two-digit month keeps fractions ("1/2 journée") out.
SHORT_DATE = re.compile(r"(?<![\d/.,])(?P<day>[0-3]?\d)/(?P<month>[01]\d)(?![\d/]|[.,]\d)")
ISO_DATE = re.compile(r"(?<![\d-])(?P<year>20\d\d)-(?P<month>[01]\d)-(?P<day>[0-3]\d)(?![\d-])")
# The bare first day of "les 12 et 13 mars", "du 3 au 5 juin", "12-13 mars".
_BARE_DAY = re.compile(
    rf"(?<![\d/.,])(?P<day>[0-3]?\d)(?:er|ᵉʳ)?\s*"
    rf"(?:au|et|à|-|–|/|,)\s*(?:{WEEKDAY}\s+)?(?=(?:[0-3]?\d(?:er)?\s*,\s*)*"
    rf"(?:[0-3]?\d(?:er)?\s*(?:et|à|au|-|–)\s*)?[0-3]?\d(?:er|ᵉʳ)?\s+(?:{_MONTH_ALT})\b)",
    re.I,
)
YEAR = re.compile(r"(?<![\d/.,-])(20\d\d)(?![\d/])")
# Between the two ends of a range: "du 3 mars au 15 avril", "12 et 13 mars", "3-5 juin".
RANGE_LINK = re.compile(
    rf"^\s*(?:\d{{4}}\s*)?(?:,\s*)?(?:\(?\s*\d{{1,2}}\s*h\s*\d*\s*\)?\s*)?"
    rf"(?:au|et(?:\s+le)?|à|jusqu'au|-|–|/)\s*(?:{WEEKDAY}\s+)?$",
    re.I,
)
LIST_LINK = re.compile(r"^\s*(?:,|et|puis|ou)\s*(?:le\s+)?$", re.I)
SENTENCE_BREAK = re.compile(r"[.!?;]\s|[•▪►✓]|\n\s*[-*–]\s|\n\n")


@dataclass
class FoundDate:
    start: int
    end: int
    day: int
    month: int
    year: int | None  # as written (None: to be resolved)
    text: str
    weekday: bool = False
    bare: bool = False  # the first day of "12 et 13 mars": month and year from the next
    value: date | None = None
    year_from: str = ""  # written, range, sentence, published, text, mentioned

    @property
    def has_year(self) -> bool:
        return self.year is not None


def _valid(year: int, month: int, day: int) -> date | None:
    try:
        return date(year, month, day)
    except ValueError:
        return None


def _overlaps(spans: list[tuple[int, int]], start: int, end: int) -> bool:
    return any(s < end and start < e for s, e in spans)


def _weekday_before(text: str, start: int) -> int | None:
    """Where "jeudi " starts when it stands right before ``start``."""
    m = _WEEKDAY_BEFORE.search(text, max(0, start - 12), start)
    return m.start() if m else None


def _found(
    text: str, start: int, end: int, day: int, month: int, year: int | None, bare: bool = False
) -> FoundDate:
    """A date whose span takes in the weekday written before it ("jeudi 12 mars")."""
    weekday = _weekday_before(text, start)
    if weekday is not None:
        start = weekday
    return FoundDate(start, end, day, month, year, text[start:end], weekday is not None, bare)


def find_dates(text: str) -> list[FoundDate]:
    """Every day-precise date of ``text``, in order (a month alone is not a date)."""
    found: list[FoundDate] = []
    if not any(ch.isdigit() for ch in text) and "premier" not in text.lower():
        return found
    for m in TEXT_DATE.finditer(text):
        day = 1 if m.group("first") else int(m.group("day"))
        month = MONTHS[m.group("month").lower().rstrip(".")]
        year = int(m.group("year")) if m.group("year") else None
        end = m.end()
        if m.group("dot") and not year and m.group("month").lower() in _FULL_MONTHS:
            end = m.end("month")  # a full stop after "avril", not the dot of "avr."
        found.append(_found(text, m.start(), end, day, month, year))
    for pattern in (NUM_DATE, ISO_DATE):
        for m in pattern.finditer(text):
            year = int(m.group("year"))
            year = year + 2000 if year < 100 else year
            day, month = int(m.group("day")), int(m.group("month"))
            spans = [(d.start, d.end) for d in found]
            if _valid(year, month, day) and not _overlaps(spans, m.start(), m.end()):
                found.append(_found(text, m.start(), m.end(), day, month, year))
    spans = [(d.start, d.end) for d in found]
    for m in SHORT_DATE.finditer(text):
        day, month = int(m.group("day")), int(m.group("month"))
        if 1 <= month <= 12 and 1 <= day <= 31 and not _overlaps(spans, m.start(), m.end()):
            found.append(FoundDate(m.start(), m.end(), day, month, None, m.group(0)))
    spans = [(d.start, d.end) for d in found]
    for m in _BARE_DAY.finditer(text):
        day_end = m.end("day")
        if not _overlaps(spans, m.start(), day_end) and 1 <= int(m.group("day")) <= 31:
            found.append(_found(text, m.start(), day_end, int(m.group("day")), 0, None, True))
    found.sort(key=lambda d: d.start)
    _complete_bare(found, text)
    return [d for d in found if d.month]


def _complete_bare(dates: list[FoundDate], text: str) -> None:
    """ "12 et 13 mars 2027": the 12 takes the month and year of the 13."""
    for i in range(len(dates) - 1, -1, -1):  # "8, 10, 15 et 17 juin": from the last back
        d = dates[i]
        if d.bare and i + 1 < len(dates):
            nxt = dates[i + 1]
            link = text[d.end : nxt.start]
            if (RANGE_LINK.match(link) or LIST_LINK.match(link)) and nxt.month:
                d.month, d.year = nxt.month, nxt.year


def range_partner(dates: list[FoundDate], index: int, text: str) -> FoundDate | None:
    """The other end of a range this date opens ("du 3 mars au 15 avril"), if any."""
    if index + 1 >= len(dates):
        return None
    d, nxt = dates[index], dates[index + 1]
    if nxt.start - d.end > 40 or not RANGE_LINK.match(text[d.end : nxt.start]):
        return None
    return nxt


def sentence_of(text: str, start: int, end: int, width: int = 300) -> tuple[int, int]:
    """The span of the sentence around [start, end), within ``width`` characters each side."""
    left = max(0, start - width)
    before = text[left:start]
    cuts = list(SENTENCE_BREAK.finditer(before))
    s = left + cuts[-1].end() if cuts else left
    after = text[end : end + width]
    cut = SENTENCE_BREAK.search(after)
    e = end + (cut.start() + 1 if cut else len(after))
    return s, e


@lru_cache(maxsize=16)
def dated(text: str, published: date | None) -> list[FoundDate]:
    """``find_dates`` with years resolved, kept for the few texts read last: the
    deadline and the event extractors read the same dates of the same item (read only)."""
    dates = find_dates(text)
    resolve_years(dates, text, published)
    return dates


def leading_words(text: str, dates: list[FoundDate], i: int, width: int = 200) -> str:
    """The words leading to date ``i``: its sentence, after the previous date, at most
    ``width`` characters (so a cue never jumps over another date)."""
    d = dates[i]
    left = max(0, d.start - width)
    if i > 0 and dates[i - 1].end > left:
        left = dates[i - 1].end
    parts = SENTENCE_BREAK.split(text[left : d.start])
    return (parts[-1] if parts else "").replace("\n", " ")


def resolve_years(dates: list[FoundDate], text: str, published: date | None) -> None:
    """Give every date its value; a year-less one gets the year the text implies.

    In order: the other end of its range, a dated date of the same sentence,
    the publication date (a date more than two months before it is read as
    next year's), the nearest dated date of the text, a year the text names.
    Left None when nothing says (never today's year).
    """
    for d in dates:
        if d.year is not None:
            d.value, d.year_from = _valid(d.year, d.month, d.day), "written"
    dated = [d for d in dates if d.value is not None]
    mentioned = [int(y) for y in YEAR.findall(text)]
    for i, d in enumerate(dates):
        if d.value is not None:
            continue
        partner = range_partner(dates, i, text)
        if partner is not None and partner.year is not None:
            year = partner.year - (1 if d.month > partner.month else 0)
            d.value, d.year_from = _valid(year, d.month, d.day), "range"
            continue
        s, e = sentence_of(text, d.start, d.end)
        same = [o for o in dated if s <= o.start < e]
        if same:
            d.value, d.year_from = (
                _in_order(d, min(same, key=lambda o: abs(o.start - d.start))),
                "sentence",
            )
            continue
        if published is not None:
            d.value, d.year_from = _after(d, published, text), "published"
            continue
        if dated:
            anchor = min(dated, key=lambda o: abs(o.start - d.start)).value
            d.value, d.year_from = _nearest(d, anchor), "text"
            continue
        if mentioned:
            year = max(set(mentioned), key=lambda y: (mentioned.count(y), y))
            d.value, d.year_from = _valid(year, d.month, d.day), "mentioned"


def _nearest(d: FoundDate, anchor: date | None) -> date | None:
    """Across sentences nothing orders the dates: the year nearest the anchor."""
    if anchor is None:
        return None
    options = [_valid(y, d.month, d.day) for y in (anchor.year - 1, anchor.year, anchor.year + 1)]
    options = [o for o in options if o]
    return min(options, key=lambda o: abs((o - anchor).days)) if options else None


def _in_order(d: FoundDate, anchor: FoundDate) -> date | None:
    """Texts list dates in time order: a year-less date written before a dated one
    falls on or before it ("15 avril et 15 octobre 2024"), one written after it
    falls on or after it, within a year."""
    if anchor.value is None:
        return None
    ref = anchor.value
    options = [_valid(y, d.month, d.day) for y in (ref.year - 1, ref.year, ref.year + 1)]
    if d.start < anchor.start:
        earlier = [o for o in options if o and o <= ref]
        return max(earlier) if earlier else None
    later = [o for o in options if o and o >= ref]
    return min(later) if later else None


_PROCHAIN = re.compile(r"^\s*prochain", re.I)


def _after(d: FoundDate, published: date, text: str) -> date | None:
    """Dates a text announces lie after its publication: "15 janvier" read in November
    is next January; "le 20 mai prochain" is the first 20 May after publication."""
    candidate = _valid(published.year, d.month, d.day)
    slack = 0 if _PROCHAIN.match(text[d.end : d.end + 12]) else 60
    if candidate is None or (published - candidate).days > slack:
        candidate = _valid(published.year + 1, d.month, d.day)
    return candidate


# -- times ------------------------------------------------------------------

TIME = re.compile(
    r"(?<![\d:,.])(?P<hour>[01]?\d|2[0-3])\s*(?:h(?![a-zà-ÿ])|heures?\b|:(?=\s*[0-5]\d))"
    r"\s*(?P<minute>[0-5]\d)?(?![\d])"
    r"|\b(?P<noon>midi)\b",
    re.I,
)


@dataclass
class FoundTime:
    start: int
    end: int
    hour: int
    minute: int


def find_times(text: str) -> list[FoundTime]:
    out = []
    for m in TIME.finditer(text):
        if m.group("noon"):
            out.append(FoundTime(m.start(), m.end(), 12, 0))
            continue
        out.append(FoundTime(m.start(), m.end(), int(m.group("hour")), int(m.group("minute") or 0)))
    return out
