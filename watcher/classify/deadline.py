"""The closing date an item states: every date of the text scored by its cue.

Rules, from LABELS.md: a closing date the text states, with a year the text
determines (written, or resolved by ``dates.resolve_years``); a month alone
gives nothing; with several sessions the last closing date; never a
publication date, an event's start or the end of a public consultation.

Each date is judged by the words that lead to it: within its sentence and
after the previous date (so a cue never jumps over another date, which is
what makes table-like lines work: "Ouverture 4 janvier 2027 Dépôt des
dossiers 9 avril 2027"), or by a label just after it ("9 avril 2027 : date
limite"). A decisive cue ("date butoir", "date limite", "clôture") outranks a
generic one ("avant le", "jusqu'au"); an extension ("prolongé jusqu'au",
"reporté au") outranks the date it extends; among the best, the last date
wins (sessions). The explanation says which words decided and where the year
came from.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime

from watcher.classify.dates import (
    SENTENCE_BREAK,
    FoundDate,
    dated,
    leading_words,
    sentence_of,
)

_I = re.I
STRONG, LABEL, GENERIC = 4.0, 3.5, 2.0
# "clôturée le", "closes depuis le": a closing date already past, outranked by an open one.
_PAST = re.compile(r"cl[ôo]tur(?:é|ée|és|ées)\b|cl[ôo]se?s?\b", re.I)
# Cues that name a closing date whatever the sentence is about.
_STRONG = re.compile(
    r"date\s+(?:limite|butoir|de\s+(?:cl[ôo]ture|fin\s+de\s+d[ée]p[ôo]t|remise|d[ée]p[ôo]t))|"
    r"\blimite\s+(?:de|des|pour\s+(?:le|les))\s+(?:d[ée]p[ôo]ts?|candidatures?|r[ée]ponses?|"
    r"remise|soumission|retour|transmission|inscriptions?|envoi)|"
    r"cl[ôo]tur\w*(?:\s+depuis)?|\bcl[ôo]t\b|\bse\s+cl[ôo]t|\bcl[ôo]s\w*(?:\s+depuis)?|deadline|"
    r"dernier\s+d[ée]lai|"
    r"au\s+plus\s+tard|[ée]ch[ée]ance|fin\s+(?:des|du|de\s+(?:la|l'))\s*(?:d[ée]p[ôo]ts?|"
    r"candidatures|inscriptions|appel|r[ée]ception|soumissions?)|"
    r"(?:premi[èe]re?|1(?:er|re|ère)|deuxi[èe]me|seconde?|2e|troisi[èe]me|3e|derni[èe]re?)\s+"
    r"(?:d[ée]p[ôo]t|session|vague|rel[èe]ve|tour|date|[ée]tape)",
    _I,
)
# A label followed by its date, as in a table row or a key-value line.
_LABEL = re.compile(
    r"(?:d[ée]p[ôo]ts?|remise|r[ée]ception|envoi|retour|transmission|soumission)\s+(?:des|de\s+"
    r"(?:la|votre|vos))\s+(?:dossiers?|candidatures?|projets?|offres?|propositions?|"
    r"r[ée]ponses?|lettres?\s+d'intention|demandes?|pr[ée]-?projets?|formulaires?)"
    r"(?:\s+[\w'é]+){0,2}\s*[:–-]?\s*"
    r"(?:le\s+|au\s+)?$|"
    r"(?:candidatures?|inscriptions?|d[ée]p[ôo]ts?)\s*:\s*(?:le\s+|au\s+)?$|"
    r"\b(?:rel[èe]ve|session|vague)\s*(?:n°\s*)?\d*\s*:\s*(?:le\s+)?$",
    _I,
)
_GENERIC = re.compile(
    r"jusqu'?\s*(?:au|à|a)\b|\bavant\s+(?:le|la\s+date\s+du)?|d'ici\s+(?:au|le|à|a)\b|"
    r"attendu\w*\s+(?:pour|avant|au\s+plus|d'ici|le|au)|souhait[ée]+\s+(?:pour|avant|au|le)|"
    r"[àa]\s+(?:d[ée]poser|remettre|envoyer|transmettre|retourner)|"
    r"(?:prend|prendra)\s+fin|se\s+termine|ferme\s+(?:le|ses)|fermeture|"
    r"\brel[èe]v\w*|\bsession|\bvague|premier\s+d[ée]p[ôo]t|\bd[ée]pos\w*|\bsoumi\w*|"
    r"fix[ée]+\s+(?:au|le|à)\b|"
    r"remise\s+des\s+(?:candidatures|dossiers|offres|propositions|projets)",
    _I,
)
# What the sentence must be about for a generic cue to close something.
_TOPIC = re.compile(
    r"candidat|dossier|d[ée]p[ôo]t|d[ée]pos|projet|proposition|r[ée]ponse|r[ée]pondre|inscri|"
    r"lettre\s+d'intention|offre|soumi|appel|demande|postuler|participer|concours|"
    r"troph[ée]e|prix|session|rel[èe]ve|vague|ouvert|\b(?-i:AMI|AAP)\b",
    _I,
)
# An extension of the closing date: the new date wins over the one it replaces.
_EXTENSION = re.compile(
    r"prolong\w*|repouss\w*|report[ée]\w*|d[ée]cal[ée]\w*|[ée]tendu\w*|extension|rallong\w*|"
    r"nouvelle\s+date|d[ée]lai\s+suppl[ée]mentaire|exceptionnellement",
    _I,
)
# Dates that are something else: when the nearest cue before the date is one of these.
_NOT_DEADLINE = re.compile(
    r"publi[ée]|mis\s+à\s+jour|mise\s+à\s+jour|modifi[ée]|paru|consultation|avis\s+du\s+public|"
    r"participation\s+du\s+public|d[ée]cret|arr[êe]t[ée]|loi\s+n|ordonnance|"
    r"entr\w*\s+en\s+vigueur|[àa]\s+compter|[àa]\s+partir|depuis|ouverture|ouvert\s+(?:le|depuis)|"
    r"lanc[ée]|lancement|se\s+tiendra|aura\s+lieu|webinaire|webinar|r[ée]union|r[ée]unira|"
    r"jury|r[ée]sultats|annonce\s+des\s+laur|laur[ée]ats|notifi\w*|d[ée]marr\w*|d[ée]but|"
    r"r[ée]alis|commenc|\bn[ée]e?s?\s+le\b|communiqu[ée]|inform[ée]|journ[ée]e\s+de\s+lancement|"
    r"mis\w*\s+en\s+service|achev|termin[ée]|op[ée]rationnel|comit[ée]|s[ée]lection\s+des|"
    r"audition|remise\s+des\s+prix|c[ée]r[ée]monie|[ée]v[ée]nement|vote|\bdès\b|"
    r"ayant\s+\w+|apr[èe]s|initialement|au\s+lieu\s+d|ancienne\s+date",
    _I,
)
# A date for what a project must achieve, not for applying; a consultation's end.
_VETO = re.compile(
    r"consultation|avis\s+du\s+public|participation\s+du\s+public|enqu[êe]te\s+publique|"
    r"mis\w*\s+en\s+service|ach[eè]v|r[ée]alis[ée]|op[ée]rationnel|versement|paiement|"
    r"engag[ée]es|dur[ée]e\s+du\s+projet|d[ée]marr\w*|factur|justificati",
    _I,
)
# A label just after the date: "9 avril 2027 : date limite", "30 juin (clôture)".
_AFTER_STRONG = re.compile(
    r"^[ \t]*(?:[:–|(-][ \t]*|,[ \t]*)?(?:(?:la|le)\s+)?(?:date\s+(?:limite|butoir|de\s+cl[ôo]ture)|"
    r"cl[ôo]tur\w*|fin\s+des\s+"
    r"(?:d[ée]p[ôo]ts|candidatures|inscriptions)|limite\s+de\s+d[ée]p[ôo]t|deadline)",
    _I,
)
_AFTER_NOT = re.compile(
    r"^[ \t]*(?:[:–|(-][ \t]*)?(?:ouverture|lancement|d[ée]but|publication|s[ée]lection|jury|"
    r"r[ée]sultats|annonce|webinaire|r[ée]union)",
    _I,
)
# A range about applications: "candidatures du 2 mai au 30 juin" closes on its end.
_RANGE_START = re.compile(r"\b(?:du|entre\s+le|entre)\s*$", _I)
_RANGE_END = re.compile(r"^\s*(?:au|jusqu'au|-|–)\s*$", _I)
_BETWEEN = re.compile(r"\bentre(?:\s+le)?\s*$", _I)  # "entre le 1er mars et le 30 juin"
_AND = re.compile(r"^\s*et(?:\s+le)?\s*$", _I)
_LIST_LINK = re.compile(r"^\s*(?:,|;|et|ou|puis|/)?\s*(?:le\s+)?$", _I)


@dataclass
class Candidate:
    found: FoundDate
    score: float
    cue: str
    extension: bool = False
    notes: list[str] = field(default_factory=list)


def _sentence_head(text: str, start: int, width: int = 160) -> str:
    window = text[max(0, start - width) : start]
    parts = SENTENCE_BREAK.split(window)
    return (parts[-1] if parts else window).replace("\n", " ")


def nearest_cue(before: str) -> tuple[float, str, bool]:
    """(score, words, blocked) of the cue nearest the date; ``blocked`` when a
    non-closing word ("publié", "aura lieu", "ouverture") comes after it."""
    best: tuple[int, int, float, str] | None = None  # start, end, score, words
    for pattern, score in ((_STRONG, STRONG), (_GENERIC, GENERIC), (_EXTENSION, GENERIC)):
        for m in pattern.finditer(before):
            if best is None or m.start() > best[0] or (m.start() == best[0] and score > best[2]):
                best = (m.start(), m.end(), score, m.group(0))
    if best is not None and _PAST.match(best[3]):
        best = (best[0], best[1], GENERIC + 1, best[3])  # a session already closed
    label = _LABEL.search(before)
    if label and (best is None or label.start() >= best[0] - 2):
        best = (label.start(), label.end(), LABEL, label.group(0).strip(" :–-"))
    negatives = [m.start() for m in _NOT_DEADLINE.finditer(before)]
    if best is None:
        return 0.0, "", bool(negatives)
    if negatives and max(negatives) >= best[1]:
        return 0.0, "", True
    return best[2], best[3].strip(), False


def _score(
    text: str, dates: list[FoundDate], i: int, scored: list[Candidate | None]
) -> Candidate | None:
    d = dates[i]
    before = leading_words(text, dates, i)
    head = _sentence_head(text, d.start)
    if _VETO.search(before) or (_VETO.search(head) and not _STRONG.search(before)):
        return None
    after = text[d.end : d.end + 40]
    if _AFTER_NOT.match(after):
        return None
    if _RANGE_START.search(before) and _range_follows(text, dates, i):
        return None  # "du 3 au 15 mars": only the end of a range can close
    previous = scored[i - 1] if i > 0 else None
    if i > 0 and dates[i - 1].end <= d.start:
        link = text[dates[i - 1].end : d.start]
        if _RANGE_END.match(link) or (
            _AND.match(link) and _BETWEEN.search(leading_words(text, dates, i - 1))
        ):
            # "candidatures du 2 mai au 30 juin": the range's subject is before its start.
            start_context = leading_words(text, dates, i - 1)
            score, cue, blocked = nearest_cue(start_context)
            if not blocked and (score or _TOPIC.search(start_context)):
                return Candidate(d, max(score, GENERIC + 1), cue or "range of applications")
            return None
        if _LIST_LINK.match(link) and previous is not None:
            # "clôtures : 15 mars, 15 juin et 15 septembre 2027": a list shares its cue.
            return Candidate(d, previous.score, previous.cue, previous.extension)
    score, cue, blocked = nearest_cue(before)
    after_label = _AFTER_STRONG.match(after)
    if after_label and not blocked:  # "Ouverture le 12 mars, clôture le …" opens
        score, cue = max(score, STRONG), cue or after_label.group(0).strip(" :–|(-,")
    if not score:
        return None
    s, e = sentence_of(text, d.start, d.end)
    if score == GENERIC and _TOPIC.search(text[s:e]):
        score += 1  # "avant le" in a sentence about applications
    extension = bool(_EXTENSION.search(before))
    if extension:
        score += 2
    return Candidate(d, score, cue, extension)


def _range_follows(text: str, dates: list[FoundDate], i: int) -> bool:
    if i + 1 >= len(dates):
        return False
    link = text[dates[i].end : dates[i + 1].start]
    return bool(_RANGE_END.match(link) or _AND.match(link))


def as_date(published: date | datetime | str | None) -> date | None:
    if isinstance(published, datetime):
        return published.date()
    if isinstance(published, date):
        return published
    if isinstance(published, str):
        try:
            return date.fromisoformat(published[:10])
        except ValueError:
            return None
    return None


_YEAR_FROM = {
    "written": "year written",
    "range": "year from the end of its range",
    "sentence": "year from a date of the same sentence",
    "published": "year from the publication date",
    "text": "year from the text's other dates",
    "mentioned": "year named in the text",
}


def extract_deadline(
    text: str,
    published: date | datetime | str | None = None,
    *,
    title: str = "",
    require: re.Pattern[str] | None = None,
) -> tuple[date | None, list[str] | None]:
    """(closing date, why: the words it was read from, the cue, the year's origin, the
    choice among several), or (None, None).

    ``require``: a pattern the words before a date must also match (for events
    and trainings, only a date for registering counts).
    """
    full = f"{title}\n{text}" if title else text
    dates = dated(full, as_date(published))
    if not dates:
        return None, None
    scored: list[Candidate | None] = []
    for i, d in enumerate(dates):
        candidate = _score(full, dates, i, scored)
        if candidate and require is not None and not require.search(_sentence_head(full, d.start)):
            candidate = None
        scored.append(candidate)
    usable = [c for c in scored if c is not None and c.found.value is not None]
    if not usable:
        return None, None
    chosen, why = _choose(usable)
    d = chosen.found
    evidence = full[max(0, d.start - 70) : d.end].replace("\n", " ").strip()
    explanation = [f"«…{evidence}»", f"cue: {chosen.cue or 'closing label'}",
                   _YEAR_FROM.get(d.year_from, d.year_from)]  # fmt: skip
    return d.value, explanation + why


def _choose(usable: list[Candidate]) -> tuple[Candidate, list[str]]:
    """The extension if any, else the last date among the best-cued ones (sessions)."""
    extensions = [c for c in usable if c.extension]
    if extensions:
        chosen = max(extensions, key=lambda c: c.found.value)
        replaced = [c for c in usable if not c.extension and c.found.value != chosen.found.value]
        why = [f"extension preferred over {c.found.value.isoformat()}" for c in replaced[:2]]
        return chosen, why
    top = max(c.score for c in usable)
    tier = [c for c in usable if c.score >= top - 0.5]
    chosen = max(tier, key=lambda c: c.found.value)
    why = []
    weaker = [c for c in usable if c.score < top - 0.5]
    if weaker:
        why.append(f"a stronger cue than for {weaker[0].found.value.isoformat()}")
    if len({c.found.value for c in tier}) > 1:
        why.append("the last of several closing dates")
    return chosen, why
