"""The demo web's content: French texts from data/*.yaml, dated relative to a day.

Every text is written for the demo. Dates are offsets from `today` (the day
the demo is served), so any day the demo runs there is a "this week", calls
still open and events to come; for a given day the content is identical, so
a server restarted the same day serves the same bytes (and the same ETags).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from functools import cache
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from watcher.base.weeks import MONTHS_FR
from watcher.models import EventInfo

DATA_DIR = Path(__file__).parent / "data"
PARIS = ZoneInfo("Europe/Paris")

WEEKDAYS = ["lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"]


def fr_date(day: date, *, weekday: bool = False) -> str:
    """'1er mars 2027', or 'lundi 1er mars 2027' with weekday=True."""
    number = "1er" if day.day == 1 else str(day.day)
    text = f"{number} {MONTHS_FR[day.month - 1]} {day.year}"
    return f"{WEEKDAYS[day.weekday()]} {text}" if weekday else text


def deadline_phrase(deadline: date, style: int, opened: date) -> str:
    """A closing date in one of the ways French calls for projects write it."""
    num = deadline.strftime("%d/%m/%Y")
    phrases = (
        f"date limite de dépôt : {fr_date(deadline)}",
        f"jusqu'au {fr_date(deadline, weekday=True)}",
        f"avant le {fr_date(deadline)}",
        f"clôture le {num}",
        f"les dossiers doivent être déposés au plus tard le {fr_date(deadline, weekday=True)} à 12 h",
        f"date de clôture des candidatures : {deadline.strftime('%d.%m.%Y')}",
        f"délai de dépôt des dossiers : du {opened.strftime('%d/%m/%Y')} - 00:00 au {num} - 23:59",
        f"dépôt possible jusqu'au {fr_date(deadline)} inclus",
    )
    return phrases[style % len(phrases)]


_SENTENCE_START = re.compile(r"(^|[.!?]\s+|\n)([a-zàâçéèêëîïôûùüÿœ])")


def _capitalise_sentences(text: str) -> str:
    return _SENTENCE_START.sub(lambda m: m.group(1) + m.group(2).upper(), text)


@dataclass(frozen=True)
class DemoItem:
    source_id: str
    slug: str
    title: str
    summary: str
    paragraphs: tuple[str, ...]
    published: datetime
    path: str  # where its page is served
    link: str  # what the source links to (a feed may point elsewhere)
    deadline: date | None = None
    event: date | None = None
    # What the text says of the event (starts, ends or days, place in data/*.yaml):
    # what the extractor should find, and the calendars hold.
    event_info: EventInfo | None = None
    offtopic: bool = False
    extra: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@dataclass(frozen=True)
class DemoSource:
    id: str
    name: str
    organisation: str
    kind: str
    path: str
    scope: str
    hints: dict[str, Any]
    items: tuple[DemoItem, ...]
    options: dict[str, Any] = field(default_factory=dict, hash=False, compare=False)


@cache
def _raw(name: str) -> dict[str, Any]:
    return yaml.safe_load((DATA_DIR / f"{name}.yaml").read_text(encoding="utf-8"))


DATA_FILES = (
    "agence",
    "region",
    "eau",
    "presse",
    "aides",
    "eit",
    "jorf",
    "pdf",
    "agenda",
    "formations",
    "publications",
    "etat",
)


def _published(today: date, ago: int, index: int) -> datetime:
    # Spread the hours so items of one day keep a stable order; today's items are dated
    # just after midnight so that none lies in the future whatever the hour of the demo.
    moment = time(0, 5 + index % 50) if ago == 0 else time(8 + index % 10, 15)
    return datetime.combine(today - timedelta(days=ago), moment, tzinfo=PARIS)


def _event_info(raw: dict[str, Any], event: date | None) -> EventInfo | None:
    """An item's `starts`/`ends` ("HH:MM", Paris time), `days` and `place`."""
    if event is None:
        return None
    starts, ends, days = raw.get("starts"), raw.get("ends"), int(raw.get("days") or 1)
    start: date | datetime = (
        datetime.combine(event, time.fromisoformat(starts)) if starts else event
    )
    end: date | datetime | None = None
    if days > 1:
        end = event + timedelta(days=days - 1)
    elif ends:
        end = datetime.combine(event, time.fromisoformat(ends))
    return EventInfo(start=start, end=end, place=raw.get("place"))


def _item(
    source: dict[str, Any], raw: dict[str, Any], index: int, today: date, bodies: dict
) -> DemoItem:
    published = _published(today, int(raw.get("ago", 0)), index)
    deadline = (
        today + timedelta(days=int(raw["deadline_in"]))
        if raw.get("deadline_in") is not None
        else None
    )
    event = (
        today + timedelta(days=int(raw["event_in"])) if raw.get("event_in") is not None else None
    )
    info = _event_info(raw, event)
    last_day = info.end if info and isinstance(info.end, date) else None
    values = {
        "year": str(today.year),
        "event": fr_date(event, weekday=True) if event else "",
        "event_end": fr_date(last_day, weekday=True) if last_day else "",
        "deadline": deadline_phrase(deadline, int(raw.get("deadline_style", 0)), published.date())
        if deadline
        else "",
        "deadline_plain": fr_date(deadline) if deadline else "",
        "deadline_numeric": deadline.strftime("%d/%m/%Y") if deadline else "",
    }
    if "body_from" in raw:
        paragraphs = list(bodies[raw["body_from"]]) + [raw.get("outro", "")]
    else:
        body = raw.get("body", "").format(**values)
        paragraphs = [p.strip() for p in body.split("\n\n") if p.strip()]
    paragraphs = [_capitalise_sentences(" ".join(p.split())) for p in paragraphs if p]
    path = f"{source['articles']}{raw['slug']}/"
    if source["id"] == "demo-aap-pdf":
        path = f"{source['articles']}{raw['slug']}.pdf"
    return DemoItem(
        source_id=source["id"],
        slug=raw["slug"],
        title=raw["title"],
        summary=raw.get("summary", ""),
        paragraphs=tuple(paragraphs),
        published=published,
        path=path,
        link=raw.get("link", path),
        deadline=deadline,
        event=event,
        event_info=info,
        offtopic=bool(raw.get("offtopic")),
        extra={k: raw[k] for k in ("financer",) if k in raw},
    )


def _jorf_item(
    source: dict[str, Any], raw: dict[str, Any], archives: list[dict], today: date
) -> DemoItem:
    archive = archives[raw["archive"]]
    day = today - timedelta(days=int(archive["ago"]))
    text_date = day - timedelta(days=1)
    title = raw["title"].format(year=str(text_date.year), text_date=fr_date(text_date))
    return DemoItem(
        source_id=source["id"],
        slug=raw["id"],
        title=title,
        summary="",
        paragraphs=tuple(raw["articles"]),
        published=datetime.combine(day, time(1, 0), tzinfo=PARIS),
        path=f"https://www.legifrance.gouv.fr/jorf/id/{raw['id']}",
        link=f"https://www.legifrance.gouv.fr/jorf/id/{raw['id']}",
        extra={
            "id": raw["id"],
            "nature": raw["nature"],
            "nor": raw["nor"],
            "ministry": raw["ministry"],
            "archive": raw["archive"],
            "text_date": text_date.isoformat(),
            "notice": raw.get("notice", ""),
        },
    )


def load_demo(today: date) -> list[DemoSource]:
    """The demo's working sources with their items, dated for `today`."""
    result: list[DemoSource] = []
    bodies: dict[str, tuple[str, ...]] = {}
    for name in DATA_FILES:
        raw = _raw(name)
        source = raw["source"]
        options = {k: v for k, v in raw.items() if k not in ("source", "items")}
        options.update({k: v for k, v in source.items() if k not in _SOURCE_KEYS})
        if source["kind"] == "jorf":
            items = [_jorf_item(source, r, raw["archives"], today) for r in raw["items"]]
        else:
            items = [_item(source, r, i, today, bodies) for i, r in enumerate(raw["items"])]
        for item in items:
            bodies[f"{item.source_id}/{item.slug}"] = item.paragraphs
        result.append(
            DemoSource(
                id=source["id"],
                name=source["name"],
                organisation=source["organisation"],
                kind=source["kind"],
                path=source["path"],
                scope=source["scope"],
                hints=dict(source.get("hints") or {}),
                items=tuple(items),
                options=options,
            )
        )
    return result


_SOURCE_KEYS = {"id", "name", "organisation", "kind", "path", "scope", "hints"}


@dataclass(frozen=True)
class BrokenSource:
    """A source broken on purpose, and what the collect stage should record."""

    id: str
    name: str
    path: str
    status: int
    reason: str


BROKEN = (
    BrokenSource(
        "demo-panne-500",
        "Observatoire régional (démo) – flux en panne",
        "/panne/flux.xml",
        500,
        "the server answers 500 Internal Server Error",
    ),
    BrokenSource(
        "demo-flux-deplace",
        "Ancien site de la chambre d'agriculture (démo) – flux supprimé",
        "/ancien-site/rss.xml",
        404,
        "the feed was removed: 404 Not Found",
    ),
    BrokenSource(
        "demo-flux-casse",
        "Portail intercommunal (démo) – flux qui renvoie une page HTML",
        "/intercommunalite/flux.rss",
        200,
        "an HTML error page served as application/rss+xml: not a feed",
    ),
)
