"""The normalisation every collected item goes through before it is stored."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest

from watcher.base.clean import clean_text, sane_moment
from watcher.collect.normalize import normalize_item
from watcher.models import CollectedItem

NOW = datetime(2026, 12, 6, 12, tzinfo=UTC)


@pytest.mark.parametrize(
    "value",
    [
        datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC),  # RSS "Fri, 31 Dec 9999 23:59:59 GMT"
        datetime(9999, 12, 31, 23, tzinfo=timezone(timedelta(hours=-5))),  # past year 9999 in UTC
        datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),  # before year 1 in UTC
        datetime(1, 1, 1, tzinfo=UTC),
        datetime(1899, 12, 31, 23, tzinfo=UTC),
        NOW + timedelta(days=6 * 366),
        None,
    ],
)
def test_absurd_dates_become_none(value: datetime | None) -> None:
    assert sane_moment(value, NOW) is None


def test_sane_dates_are_kept_and_naive_ones_taken_as_utc() -> None:
    paris = timezone(timedelta(hours=1))
    assert sane_moment(datetime(2026, 11, 30, 9, tzinfo=paris), NOW) == datetime(
        2026, 11, 30, 9, tzinfo=paris
    )
    assert sane_moment(datetime(1900, 1, 1), NOW) == datetime(1900, 1, 1, tzinfo=UTC)
    far = NOW + timedelta(days=4 * 365)  # a call closing in a few years is plausible
    assert sane_moment(far, NOW) == far


def test_control_and_invisible_characters_are_dropped() -> None:
    assert clean_text("Appel\x01 à\x7f projets\x85 \x9f") == "Appel à projets"
    assert clean_text("Titre\u202e lanigiro\u200b\u200d\u2066x\u2069\ufeff") == "Titre lanigirox"
    assert clean_text(" a\tb\n\nc\rd ") == "a b c d"
    assert clean_text("a\tb\nc\x0bd", keep_lines=True) == "a\tb\ncd"
    assert clean_text("lone \ud800 surrogate \uffff") == "lone surrogate"
    assert clean_text("Énergie — « déchets » 🌍") == "Énergie — « déchets » 🌍"
    assert clean_text(None) == ""


def test_normalize_item_keeps_the_item_without_its_absurd_date() -> None:
    item = CollectedItem(
        source_id="s",
        url="https://example.org/a",
        title="Appel \x01à projets\u202e",
        summary="Résumé\x02",
        text="Premier paragraphe.\n\nSecond\x03.",
        published=datetime(1, 1, 1, tzinfo=timezone(timedelta(hours=14))),
        extra={"nor": "X"},
    )
    clean = normalize_item(item, NOW)
    assert (clean.title, clean.summary, clean.text) == (
        "Appel à projets",
        "Résumé",
        "Premier paragraphe.\n\nSecond.",
    )
    assert clean.published is None and clean.url == item.url and clean.extra == {"nor": "X"}
    good = datetime(2026, 11, 30, tzinfo=UTC)
    assert normalize_item(CollectedItem("s", "u", "t", published=good), NOW).published == good
