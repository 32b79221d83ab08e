"""Events and deadlines in words and in calendar terms.

An event's start and end (``watcher.models.EventInfo``) are a ``date`` (all
day) or a naive ``datetime`` (a wall-clock time in Europe/Paris, never UTC):
``event_when`` says them in French as the bulletin and the site print them,
``event_span`` gives the days an event covers (the site's month view).
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any

from watcher.base.weeks import MONTHS_FR, WEEKDAYS_FR
from watcher.models import EventInfo

LONGEST_SPAN_DAYS = 62  # a "course" over months shows on its first day only


def _day(value: date | datetime) -> date:
    return value.date() if isinstance(value, datetime) else value


def _time(value: date | datetime) -> time | None:
    return value.time() if isinstance(value, datetime) else None


def french_time(moment: time) -> str:
    """`10 h`, `11 h 30` (the French typographic usage)."""
    return f"{moment.hour} h" if moment.minute == 0 else f"{moment.hour} h {moment.minute:02d}"


def french_day(day: date, *, weekday: bool = True, year: bool = True) -> str:
    """`jeudi 10 décembre 2026`, `1er mars` (without weekday and year)."""
    number = "1er" if day.day == 1 else str(day.day)
    text = f"{number} {MONTHS_FR[day.month - 1]}"
    if year:
        text = f"{text} {day.year}"
    return f"{WEEKDAYS_FR[day.weekday()]} {text}" if weekday else text


def event_when(event: EventInfo | None) -> str:
    """When an event takes place, in French: `jeudi 10 décembre 2026, de 10 h à 11 h 30`,
    `du lundi 1er mars au mercredi 3 mars 2027`, `jeudi 10 décembre 2026 à 8 h`."""
    if event is None:
        return ""
    start_day, start_time = _day(event.start), _time(event.start)
    end = event.end
    end_day = _day(end) if end is not None else None
    end_time = _time(end) if end is not None else None
    if end_day is None or end_day == start_day:
        text = french_day(start_day)
        if start_time and end_time and end_time != start_time:
            return f"{text}, de {french_time(start_time)} à {french_time(end_time)}"
        if start_time:
            return f"{text} à {french_time(start_time)}"
        return text
    same_year = start_day.year == end_day.year
    first = french_day(start_day, year=not same_year)
    if start_time:
        first = f"{first} à {french_time(start_time)}"
    last = french_day(end_day)
    if end_time:
        last = f"{last} à {french_time(end_time)}"
    return f"du {first} au {last}"


def event_span(event: EventInfo) -> list[date]:
    """The days an event covers (its first day only when it lasts over two months)."""
    first = _day(event.start)
    last = _day(event.end) if event.end is not None else first
    if last < first or (last - first).days > LONGEST_SPAN_DAYS:
        return [first]
    return [first + timedelta(days=n) for n in range((last - first).days + 1)]


def event_bounds(event: EventInfo) -> tuple[Any, Any]:
    """(DTSTART, DTEND) of a calendar event: dates for an all-day event (the end
    exclusive, as RFC 5545 wants), naive Paris wall times otherwise. A start time
    without an end lasts an hour, as calendars do for a new event; a start time
    with only an end day becomes all-day (DTSTART and DTEND must be of one kind)."""
    start, end = event.start, event.end
    if isinstance(start, datetime):
        if end is None:
            return start, start + timedelta(hours=1)
        if isinstance(end, datetime):
            return start, max(end, start)
        return start.date(), max(end, start.date()) + timedelta(days=1)
    last = _day(end) if end is not None else start
    return start, max(last, start) + timedelta(days=1)
