"""ISO weeks (`YYYY-Www`), read in Europe/Paris, and French dates.

``parse_week`` is the one parser of a week string: the CLI's ``--week`` type,
the desk's URLs, the store and the stages all go through it.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, time, timedelta, tzinfo

from watcher.base.clock import PARIS, as_aware, paris_date
from watcher.exceptions import WeekError

# ASCII digits only: `\d` would also take full-width or Arabic-Indic digits.
_WEEK = re.compile(r"([0-9]{4})-W([0-9]{2})")

# The years a week may name (inclusive).
FIRST_YEAR = 2000
LAST_YEAR = 2100

WEEKDAYS_FR = ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche")
MONTHS_FR = [
    "janvier",
    "février",
    "mars",
    "avril",
    "mai",
    "juin",
    "juillet",
    "août",
    "septembre",
    "octobre",
    "novembre",
    "décembre",
]


def parse_week(week: str) -> tuple[int, int]:
    """(year, week number) of ``2026-W48``, the year within FIRST_YEAR..LAST_YEAR;
    WeekError for anything else."""
    match = _WEEK.fullmatch(week) if isinstance(week, str) else None
    if not match:
        raise WeekError(f"week {week!r}: expected an ISO week like 2026-W48")
    year, number = int(match[1]), int(match[2])
    # Four digits still reach years where a week's dates, or its bounds moved
    # to UTC, fall outside what `datetime` holds (9999-W52, 0001-W01); a
    # curator's watch has no use for them, so refuse them here, once, for
    # every caller, rather than let each crash on OverflowError.
    if not FIRST_YEAR <= year <= LAST_YEAR:
        raise WeekError(f"week {week!r}: the year must be between {FIRST_YEAR} and {LAST_YEAR}")
    try:
        date.fromisocalendar(year, number, 1)
    except ValueError:
        raise WeekError(f"week {week!r}: {year} has no week {number}") from None
    return year, number


def week_dates(week: str) -> tuple[date, date]:
    """Monday and Sunday of the week."""
    year, number = parse_week(week)
    monday = date.fromisocalendar(year, number, 1)
    return monday, monday + timedelta(days=6)


def week_range(week: str) -> tuple[datetime, datetime]:
    """[start, end) of the week in UTC, the week being read in Europe/Paris."""
    monday, sunday = week_dates(week)
    start = datetime.combine(monday, time(0), PARIS).astimezone(UTC)
    end = datetime.combine(sunday + timedelta(days=1), time(0), PARIS).astimezone(UTC)
    return start, end


def week_of(moment: datetime | date, tz: tzinfo = PARIS) -> str:
    """The ISO week of a day, or of a moment read in ``tz`` (naive: UTC)."""
    if isinstance(moment, datetime):
        moment = as_aware(moment).astimezone(tz).date()
    year, number, _ = moment.isocalendar()
    return f"{year}-W{number:02d}"


def issue_date(week: str) -> date:
    """The day the bulletin of a week goes out (the Monday after): days left count from it."""
    return week_dates(week)[1] + timedelta(days=1)


def french_date(day: date | datetime | None) -> str:
    if day is None:
        return ""
    if isinstance(day, datetime):
        day = paris_date(day)
    first = "1er" if day.day == 1 else str(day.day)
    return f"{first} {MONTHS_FR[day.month - 1]} {day.year}"


def french_month(month: str) -> str:
    """`2026-11` -> `novembre 2026`."""
    year, number = month.split("-")
    return f"{MONTHS_FR[int(number) - 1]} {year}"


def week_label(week: str) -> str:
    monday, sunday = week_dates(week)
    _, number = parse_week(week)
    return f"semaine {number} (du {french_date(monday)} au {french_date(sunday)})"
