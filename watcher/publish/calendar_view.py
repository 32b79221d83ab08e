"""The site's calendar: a month view of closing dates, events and trainings.

Plain data for ``templates/site/calendar.html``: which months get a page and,
for a month, its weeks (Monday to Sunday) of days with what happens on each.
"""

from __future__ import annotations

import calendar
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date

from watcher.publish.calendars import CLOSING, Dated

MONTHS_AROUND = 24  # months before and after today that get a page at most


@dataclass
class Happening:
    item: Dated
    continued: bool  # a later day of an event that started earlier

    @property
    def kind(self) -> str:
        return self.item.kind

    @property
    def clock(self) -> str:
        """`10 h 30` on the first day of an event with a stated time, else ''."""
        if self.continued or not self.item.clock:
            return ""
        hour, minute = (int(part) for part in self.item.clock.split(":"))
        return f"{hour} h" if minute == 0 else f"{hour} h {minute:02d}"


@dataclass
class Day:
    day: date | None  # None: a cell of the previous or next month
    happenings: list[Happening] = field(default_factory=list)
    today: bool = False


def month_id(day: date) -> str:
    return f"{day.year:04d}-{day.month:02d}"


def _shift(month: str, by: int) -> str:
    year, number = int(month[:4]), int(month[5:])
    index = year * 12 + number - 1 + by
    return f"{index // 12:04d}-{index % 12 + 1:02d}"


def months(items: Iterable[Dated], today: date) -> list[str]:
    """Every month from the first to the last one with something dated (within
    MONTHS_AROUND of today), the current month always included; oldest first."""
    current = month_id(today)
    low, high = _shift(current, -MONTHS_AROUND), _shift(current, MONTHS_AROUND)
    found = {month_id(d) for item in items for d in item.days}
    found = {m for m in found if low <= m <= high} | {current}
    first, last = min(found), max(found)
    out, month = [], first
    while month <= last:
        out.append(month)
        month = _shift(month, 1)
    return out


def by_month(items: Iterable[Dated]) -> dict[str, list[tuple[date, Happening]]]:
    """What happens on each day, grouped by month (a long event on each of its days)."""
    out: dict[str, list[tuple[date, Happening]]] = defaultdict(list)
    for item in items:
        for n, day in enumerate(item.days):
            out[month_id(day)].append((day, Happening(item, continued=n > 0)))
    return out


def month_grid(
    month: str, happenings: list[tuple[date, Happening]], today: date
) -> list[list[Day]]:
    """The weeks of `month`, Monday first; closing dates first on a day, then by time."""
    year, number = int(month[:4]), int(month[5:])
    on_day: dict[date, list[Happening]] = defaultdict(list)
    for day, happening in happenings:
        on_day[day].append(happening)
    weeks = []
    for week in calendar.Calendar(firstweekday=0).monthdatescalendar(year, number):
        row = []
        for day in week:
            if day.month != number:
                row.append(Day(None))
                continue
            items = sorted(
                on_day.get(day, []),
                key=lambda h: (h.kind != CLOSING, h.continued, h.item.clock, h.item.row["id"]),
            )
            row.append(Day(day, items, today=day == today))
        weeks.append(row)
    return weeks


def neighbours(month: str, all_months: list[str]) -> tuple[str | None, str | None]:
    """(previous, next) month that has a page."""
    index = all_months.index(month)
    previous = all_months[index - 1] if index > 0 else None
    following = all_months[index + 1] if index + 1 < len(all_months) else None
    return previous, following
