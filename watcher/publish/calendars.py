"""iCalendar files (icalendar): events, trainings and calls' closing dates.

One VEVENT per event or training that has dates (``Entry.event``: DTSTART and
DTEND in Europe/Paris wall time with a VTIMEZONE, or DATE values when all
day; LOCATION; URL) and one all-day VEVENT per call's closing date. UIDs come
from the item's stable ``uid`` and DTSTAMP from its first-seen time, so a
rebuild gives the same file and a calendar never duplicates an entry.
``with_revision`` adds SEQUENCE and LAST-MODIFIED (kept by the store, see
``store.bulletins.revise_events``): a client replaces its copy of an event,
a changed deadline or date, only when SEQUENCE grows.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from icalendar import Calendar, Event, Timezone, vDatetime

from watcher.base.clean import clean_text
from watcher.base.clock import PARIS
from watcher.models import EventInfo
from watcher.publish.dates import event_bounds, event_span, event_when
from watcher.publish.model import Entry
from watcher.publish.selection import as_date, event_of

DOMAIN = "veille-eit-grand-est.fr"
PAST_EVENTS_DAYS = 60
CLOSING = "cloture"

# Europe/Paris by the EU rule in force since 1996: a few lines valid every year,
# where a table of transitions would stop at some year.
PARIS_VTIMEZONE = """BEGIN:VTIMEZONE
TZID:Europe/Paris
BEGIN:DAYLIGHT
TZOFFSETFROM:+0100
TZOFFSETTO:+0200
TZNAME:CEST
DTSTART:19700329T020000
RRULE:FREQ=YEARLY;BYMONTH=3;BYDAY=-1SU
END:DAYLIGHT
BEGIN:STANDARD
TZOFFSETFROM:+0200
TZOFFSETTO:+0100
TZNAME:CET
DTSTART:19701025T030000
RRULE:FREQ=YEARLY;BYMONTH=10;BYDAY=-1SU
END:STANDARD
END:VTIMEZONE
"""


@dataclass(frozen=True, eq=False)
class Dated:
    """One thing a calendar shows: a call's closing date, an event or a training."""

    kind: str  # "cloture" or the item's type (evenement, formation)
    row: dict[str, Any]  # the item (as ``store.bulletins.load_items``)
    day: date  # the closing date, or the first day of the event
    days: tuple[date, ...]  # every day it covers (a three-day training shows on each)
    clock: str = ""  # "HH:MM" when the event starts at a stated time
    event: EventInfo | None = None


def dated_items(rows: Iterable[dict[str, Any]]) -> list[Dated]:
    """The calls' closing dates and the dated events and trainings of `rows`, by
    day then start time."""
    out = []
    for row in rows:
        labels = row.get("labels") or {}
        if labels.get("type") == "appel_a_projets":
            deadline = as_date(labels.get("deadline"))
            if deadline:
                out.append(Dated(CLOSING, row, deadline, (deadline,)))
        elif (event := event_of(row)) is not None:
            start = event.start
            clock = start.strftime("%H:%M") if isinstance(start, datetime) else ""
            days = tuple(event_span(event))
            out.append(Dated(labels["type"], row, days[0], days, clock, event))
    out.sort(key=lambda d: (d.day, d.clock, d.row["id"], d.kind))
    return out


def upcoming(items: Iterable[Dated], today: date) -> list[Dated]:
    """What a subscribed calendar holds: open calls' closing dates, events and
    trainings not over for more than PAST_EVENTS_DAYS."""
    oldest = today - timedelta(days=PAST_EVENTS_DAYS)

    def keep(item: Dated) -> bool:
        return item.day >= today if item.kind == CLOSING else item.days[-1] >= oldest

    return [item for item in items if keep(item)]


def _aware(moment: date | datetime) -> date | datetime:
    return moment.replace(tzinfo=PARIS) if isinstance(moment, datetime) else moment


def vevent(item: Dated, entry: Entry, url: str) -> bytes:
    """One VEVENT of `item` (`entry`: the item as the site shows it; `url`: its link)."""
    event = Event()
    event.add("uid", f"{entry.uid}-{item.kind}@{DOMAIN}")
    stamp = item.row["first_seen"]
    event.add("dtstamp", stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC))
    details = [entry.summary[:500]]
    if item.event is None:
        event.add("summary", clean_text(f"Clôture : {entry.title}"))
        event.add("dtstart", item.day)
        event.add("dtend", item.day + timedelta(days=1))
        event.add("transp", "TRANSPARENT")
    else:
        start, end = event_bounds(item.event)
        event.add("summary", clean_text(entry.title))
        event.add("dtstart", _aware(start))
        event.add("dtend", _aware(end))
        if item.event.place:
            event.add("location", clean_text(item.event.place))
        details.insert(0, event_when(item.event))
    if url:
        event.add("url", url)
    # Control characters are not allowed in iCalendar text (RFC 5545 3.3.11) and
    # items stored by older versions may still hold some.
    description = "\n\n".join(filter(None, [*details, url]))
    event.add("description", clean_text(description, keep_lines=True))
    return event.to_ical()


def event_uid(vevent_text: str) -> str:
    """The UID of a VEVENT made by `vevent` (its line is never folded: short, ASCII)."""
    for line in vevent_text.split("\r\n"):
        if line.startswith("UID:"):
            return line[4:]
    raise ValueError("VEVENT without UID")


def with_revision(vevent_text: str, sequence: int, modified: datetime) -> str:
    """A VEVENT made by `vevent` with its SEQUENCE and LAST-MODIFIED (UTC)."""
    end = "END:VEVENT\r\n"
    assert vevent_text.endswith(end)
    stamp = vDatetime(modified.astimezone(UTC)).to_ical().decode("ascii")
    revision = f"SEQUENCE:{int(sequence)}\r\nLAST-MODIFIED:{stamp}\r\n"
    return vevent_text[: -len(end)] + revision + end


def ics_document(events: Iterable[bytes], *, title: str) -> bytes:
    """A calendar of VEVENTs made by `vevent` (each made once, however many
    calendars hold it); the Paris VTIMEZONE when one of them has a time."""
    cal = Calendar()
    cal.add("prodid", "-//Veille EIT Grand Est//watcher//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", title)
    cal.add("x-wr-timezone", "Europe/Paris")
    body = b"".join(events)
    if b";TZID=Europe/Paris:" in body:
        cal.add_component(Timezone.from_ical(PARIS_VTIMEZONE))
    head = cal.to_ical()
    end = b"END:VCALENDAR\r\n"
    assert head.endswith(end)
    return head[: -len(end)] + body + end


def ics_calendar(
    items: Iterable[Dated],
    *,
    title: str,
    entry_of: Callable[[dict[str, Any]], Entry],
    link: Callable[[Entry], str],
) -> bytes:
    """An iCalendar document of `items`; `entry_of(row)` gives each item as the site
    shows it, `link(entry)` its URL."""
    events = []
    for item in items:
        entry = entry_of(item.row)
        events.append(vevent(item, entry, link(entry)))
    return ics_document(events, title=title)
