"""ISO weeks read in Europe/Paris, French dates."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest
from click.testing import CliRunner

from watcher.base.weeks import french_date, issue_date, parse_week, week_dates, week_of, week_range
from watcher.cli import main
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


BAD_WEEKS = [
    "2026-48",
    "2026-W54",
    "W48",
    "",
    "２０２６-W48",  # full-width digits: `\d` would take them
    "2026-W٤٨",  # Arabic-Indic digits
    "2026-W48\n",
    " 2026-W48",
    "2026-w48",
]


@pytest.mark.parametrize("bad", BAD_WEEKS)
def test_bad_weeks_are_refused(bad: str) -> None:
    with pytest.raises(WeekError):
        week_range(bad)
    assert parse_week("2026-W48") == (2026, 48) and parse_week("2020-W53") == (2020, 53)


@pytest.mark.parametrize("command", [["bulletin", "build"], ["send", "--dry-run"]])
@pytest.mark.parametrize("bad", ["２０２６-W48", "2026-W99"])
def test_every_week_option_refuses_a_bad_week_with_exit_2(command, bad, tmp_path) -> None:  # noqa: ANN001
    result = CliRunner().invoke(
        main, [*command, "--week", bad, "--db", str(tmp_path / "w.db")], catch_exceptions=False
    )
    assert result.exit_code == 2
    assert "Invalid value for '--week'" in result.output
    assert "expected an ISO week like 2026-W48" in result.output or "no week 99" in result.output
    assert not (tmp_path / "w.db").exists()  # refused before anything was opened


# Four ASCII digits, a real ISO week, and still dates that `datetime` cannot hold
# once the week's bounds are computed (OverflowError before the year range).
FAR_WEEKS = ["9999-W52", "0001-W01", "1999-W52", "2101-W01"]


@pytest.mark.parametrize("far", FAR_WEEKS)
def test_weeks_outside_the_years_are_refused(far: str) -> None:
    with pytest.raises(WeekError, match="between 2000 and 2100"):
        parse_week(far)
    with pytest.raises(WeekError):
        week_range(far)
    assert parse_week("2000-W01") == (2000, 1) and parse_week("2100-W52") == (2100, 52)


@pytest.mark.parametrize("far", ["9999-W52", "0001-W01"])
def test_a_far_week_option_is_a_usage_error(far: str, tmp_path) -> None:  # noqa: ANN001
    result = CliRunner().invoke(
        main, ["bulletin", "build", "--week", far, "--db", str(tmp_path / "w.db")]
    )
    assert result.exit_code == 2, result.output
    assert "Invalid value for '--week'" in result.output
    assert "between 2000 and 2100" in result.output
    assert "unexpected" not in result.output


def test_every_week_option_uses_the_one_type() -> None:
    from watcher.cli import ISO_WEEK

    def walk(command):  # noqa: ANN001, ANN202
        yield command
        for sub in getattr(command, "commands", {}).values():
            yield from walk(sub)

    weeks = [p for c in walk(main) for p in c.params if p.name == "week"]
    assert weeks and all(p.type is ISO_WEEK for p in weeks)


def test_french_dates() -> None:
    assert french_date(date(2026, 12, 1)) == "1er décembre 2026"
    assert french_date(date(2026, 8, 15)) == "15 août 2026"
