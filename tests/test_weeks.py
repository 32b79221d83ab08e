"""ISO weeks read in Europe/Paris, French dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from watcher.base.weeks import french_date, issue_date, week_dates, week_of, week_range
from watcher.exceptions import WeekError


def test_week_range_is_paris_midnight_to_midnight() -> None:
    start, end = week_range("2026-W48")
    assert start == datetime(2026, 11, 22, 23, tzinfo=UTC)  # Monday 00:00 in Paris (UTC+1)
    assert end == datetime(2026, 11, 29, 23, tzinfo=UTC)
    summer_start, _ = week_range("2026-W27")
    assert summer_start.hour == 22  # UTC+2 in summer
    assert week_dates("2026-W01") == (date(2025, 12, 29), date(2026, 1, 4))
    assert issue_date("2026-W48") == date(2026, 11, 30)


def test_week_of_uses_paris_time() -> None:
    # Sunday 23:30 UTC is already Monday in Paris.
    assert week_of(datetime(2026, 11, 29, 23, 30, tzinfo=UTC)) == "2026-W49"
    assert week_of(datetime(2026, 11, 29, 22, 30, tzinfo=UTC)) == "2026-W48"


@pytest.mark.parametrize("bad", ["2026-48", "2026-W54", "W48", ""])
def test_bad_weeks_are_refused(bad: str) -> None:
    with pytest.raises(WeekError):
        week_range(bad)


def test_french_dates() -> None:
    assert french_date(date(2026, 12, 1)) == "1er décembre 2026"
    assert french_date(date(2026, 8, 15)) == "15 août 2026"
