"""Dates, times and place of events and trainings."""

import json
from datetime import date, datetime
from pathlib import Path

import pytest

from watcher.classify.event import extract_event
from watcher.models import EventInfo

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("title", "text", "published", "expected"),
    [
        ("Webinaire chaleur fatale",
         "Rendez-vous le mardi 9 février 2027 de 10h à 11h30. Inscription avant le 5 février.",
         None, EventInfo(datetime(2027, 2, 9, 10), datetime(2027, 2, 9, 11, 30), "En ligne")),
        ("Salon", "Le salon revient au Parc des expositions de Metz du 12 au 14 octobre 2027.",
         None, EventInfo(date(2027, 10, 12), date(2027, 10, 14), "Parc des expositions de Metz")),
        ("Formation", "Sessions : 6 et 7 avril 2027 puis 4 mai 2027, à Nancy. Inscriptions "
         "jusqu'au 19 mars 2027.", None, EventInfo(date(2027, 4, 6), date(2027, 4, 7), "Nancy")),
        ("Journée technique", "Lieu : Maison de la Région, Strasbourg\nDate : jeudi 22 avril "
         "2027, 9h30 - 16h30", None,
         EventInfo(datetime(2027, 4, 22, 9, 30), datetime(2027, 4, 22, 16, 30),
                   "Maison de la Région, Strasbourg")),
        ("Classe virtuelle", "Quatre demi-journées : 8, 10, 15 et 17 juin 2027, de 9h à 12h30.",
         None, EventInfo(datetime(2027, 6, 8, 9), datetime(2027, 6, 8, 12, 30), None)),
        ("MOOC", "La session ouvre le 7 septembre 2026 et se termine le 15 novembre 2026.",
         None, EventInfo(date(2026, 9, 7), date(2026, 11, 15), "En ligne")),
        ("Journée d'information", "Le 7 mars à Metz, à partir de 9 h 30.", "2027-02-01",
         EventInfo(datetime(2027, 3, 7, 9, 30), None, "Metz")),
    ],
)  # fmt: skip
def test_event_dates_times_and_place(
    title: str, text: str, published: str | None, expected: EventInfo
) -> None:
    event, why = extract_event(text, published, title=title)
    assert event == expected
    assert why


def test_no_day_no_event() -> None:
    assert extract_event("Le salon aura lieu en octobre 2027 à Metz.", title="Salon") == (
        None,
        None,
    )
    # Registration and publication dates are not the event's.
    text = "Publié le 3 mars 2027. Inscriptions avant le 20 mars 2027."
    assert extract_event(text, title="Formation")[0] is None


def test_team_written_sets_are_read_exactly() -> None:
    """Our labelled sets (bench/data/events*.jsonl): the figures docs/classify.md gives."""
    for name, floor in (("events.jsonl", 0.9), ("events_holdout.jsonl", 0.9)):
        lines = (ROOT / "bench" / "data" / name).read_text(encoding="utf-8").splitlines()
        items = [json.loads(line) for line in lines]
        exact = 0
        for item in items:
            event, _why = extract_event(item["text"], item["published"], title=item["title"])
            exact += (event.to_dict() if event else None) == item["event"]
        assert exact / len(items) >= floor, (name, exact, len(items))
