"""Time: aware datetimes in UTC for the store, Europe/Paris for readers."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

PARIS = ZoneInfo("Europe/Paris")


def utcnow() -> datetime:
    return datetime.now(UTC)


def paris_today() -> date:
    return utcnow().astimezone(PARIS).date()


def as_aware(moment: datetime) -> datetime:
    """A naive datetime is taken as UTC (the store's convention)."""
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


def paris_date(moment: datetime) -> date:
    """The calendar day of a moment in Europe/Paris (naive: UTC)."""
    return as_aware(moment).astimezone(PARIS).date()
