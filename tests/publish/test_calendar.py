"""Events, trainings and closing dates: iCalendar files, the site's month view, the agenda.

The model's events come from ``item_labels.event`` (the factory writes them as
the classifier would); a curator's correction goes through ``set_override``.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

from icalendar import Calendar

from tests.publish.conftest import TODAY, WEEK
from tests.publish.test_site import uid_of
from watcher.base.taxonomy import load_taxonomy
from watcher.publish.bulletin import build_bulletin, render_email, render_web
from watcher.publish.dates import event_bounds, event_when
from watcher.publish.site import build_site
from watcher.store.labels import set_override

PARIS = ZoneInfo("Europe/Paris")
DOMAIN = "veille-eit-grand-est.fr"


def events_of(path) -> dict[str, object]:  # noqa: ANN001
    cal = Calendar.from_ical(path.read_bytes())
    return {str(e["uid"]): e for e in cal.walk("VEVENT")}


def test_french_wording_of_event_dates() -> None:
    from watcher.models import EventInfo

    one = EventInfo(datetime(2026, 12, 10, 10), datetime(2026, 12, 10, 11, 30))
    assert event_when(one) == "jeudi 10 décembre 2026, de 10 h à 11 h 30"
    assert event_when(EventInfo(datetime(2026, 12, 1, 8))) == "mardi 1er décembre 2026 à 8 h"
    days = EventInfo(date(2026, 12, 30), date(2027, 1, 1))
    assert event_when(days) == "du mercredi 30 décembre 2026 au vendredi 1er janvier 2027"
    assert event_when(EventInfo(date(2027, 3, 1), date(2027, 3, 3))) == (
        "du lundi 1er mars au mercredi 3 mars 2027"
    )
    # A start time without an end lasts an hour; a start time with an end day is all day.
    assert event_bounds(EventInfo(datetime(2026, 12, 1, 8))) == (
        datetime(2026, 12, 1, 8),
        datetime(2026, 12, 1, 9),
    )
    assert event_bounds(EventInfo(datetime(2026, 12, 1, 8), date(2026, 12, 2))) == (
        date(2026, 12, 1),
        date(2026, 12, 3),
    )


def test_calendars_hold_events_in_paris_time_and_closing_dates(built) -> None:  # noqa: ANN001
    site, ids, store = built["site"], built["ids"], built["store"]
    calendars = sorted((site / "calendriers").glob("*.ics"))
    assert {c.stem for c in calendars} == {"tout", *load_taxonomy().names["themes"]}
    everything = events_of(site / "calendriers/tout.ics")
    call = everything[f"{uid_of(store, ids['call_open'])}-cloture@{DOMAIN}"]
    assert call.decoded("dtstart") == date(2026, 12, 15)
    assert call.decoded("dtend") == date(2026, 12, 16)
    assert str(call["summary"]) == "Clôture : Appel à projets chaleur fatale Grand Est"
    # The meeting: 9 h 30 to 17 h in Metz, Paris wall time (UTC+1 in December).
    meeting = everything[f"{uid_of(store, ids['event'])}-evenement@{DOMAIN}"]
    start, end = meeting.decoded("dtstart"), meeting.decoded("dtend")
    assert start == datetime(2026, 12, 10, 9, 30, tzinfo=PARIS)
    assert start.utcoffset().total_seconds() == 3600 and end.hour == 17
    assert str(meeting["location"]) == "Metz, Arsenal"
    assert str(meeting["url"]).startswith("https://example.org/items/")  # no public_url
    assert "jeudi 10 décembre 2026, de 9 h 30 à 17 h" in str(meeting["description"])
    raw = (site / "calendriers/tout.ics").read_text(encoding="utf-8")
    assert "DTSTART;TZID=Europe/Paris:20261210T093000" in raw
    assert raw.count("BEGIN:VTIMEZONE") == 1 and "RRULE:FREQ=YEARLY;BYDAY=-1SU;BYMONTH=3" in raw
    # The three-day training: all day, DTEND the day after its last day.
    training = everything[f"{uid_of(store, ids['training'])}-formation@{DOMAIN}"]
    assert training.decoded("dtstart") == date(2026, 12, 14)
    assert training.decoded("dtend") == date(2026, 12, 17)
    assert str(training["location"]) == "Nancy"
    assert not any("biodéchets" in str(e["summary"]) for e in everything.values())  # closed
    energy = events_of(site / "calendriers/energie.ics")
    assert call["uid"] in energy and training["uid"] in energy
    assert meeting["uid"] not in energy  # a "territoire" event only


def test_calendars_link_the_public_site_when_there_is_one(seeded) -> None:  # noqa: ANN001
    store, ids, settings = seeded
    settings.publish.public_url = "https://veille.example.org/"
    build_site(store, settings, today=TODAY)
    site = settings.publish.site_dir
    meeting = events_of(site / "calendriers/tout.ics")[
        f"{uid_of(store, ids['event'])}-evenement@{DOMAIN}"
    ]
    url = str(meeting["url"])
    assert re.fullmatch(r"https://veille\.example\.org/items/2026-t4/[0-9a-f]+\.html", url), url
    assert (site / url.removeprefix("https://veille.example.org/")).is_file()


def test_a_curator_corrects_an_event_everywhere(seeded) -> None:  # noqa: ANN001
    store, ids, settings = seeded
    build_site(store, settings, today=TODAY)  # the next build reuses what did not change
    set_override(
        store,
        ids["event"],
        {"event": {"start": "2026-12-11T14:00", "end": None, "place": "Thionville"}},
        "anne",
    )
    set_override(store, ids["training"], {"event": None}, "anne")  # no dates after all
    build_site(store, settings, today=TODAY)
    site = settings.publish.site_dir
    everything = events_of(site / "calendriers/tout.ics")
    meeting = everything[f"{uid_of(store, ids['event'])}-evenement@{DOMAIN}"]
    assert meeting.decoded("dtstart") == datetime(2026, 12, 11, 14, tzinfo=PARIS)
    assert meeting.decoded("dtend") == datetime(2026, 12, 11, 15, tzinfo=PARIS)
    assert str(meeting["location"]) == "Thionville"
    assert f"{uid_of(store, ids['training'])}-formation@{DOMAIN}" not in everything
    bulletin = build_bulletin(store, WEEK, settings)
    agenda = next(s for s in bulletin.sections if s.id == "evenement")
    assert agenda.entries[0].event.place == "Thionville"


def test_a_changed_event_gets_the_next_sequence_and_a_rebuild_the_same_bytes(
    seeded, monkeypatch
) -> None:  # noqa: ANN001
    """Calendar clients keep their copy of an event until its SEQUENCE grows
    (RFC 5545 3.8.7.4): a corrected deadline or date must reach them, and a
    rebuild with nothing changed must not touch a byte."""
    import watcher.store.bulletins as store_bulletins

    store, ids, settings = seeded
    site = settings.publish.site_dir
    first, second = datetime(2026, 11, 20, 8, tzinfo=UTC), datetime(2026, 11, 21, 9, tzinfo=UTC)
    monkeypatch.setattr(store_bulletins, "utcnow", lambda: first)
    build_site(store, settings, today=TODAY)
    before = {p.name: p.read_bytes() for p in (site / "calendriers").glob("*.ics")}
    call = f"{uid_of(store, ids['call_open'])}-cloture@{DOMAIN}"
    meeting = f"{uid_of(store, ids['event'])}-evenement@{DOMAIN}"
    old = events_of(site / "calendriers/tout.ics")
    assert all(e.decoded("sequence") == 0 for e in old.values())
    assert {e.decoded("last-modified") for e in old.values()} == {first}

    monkeypatch.setattr(store_bulletins, "utcnow", lambda: second)
    build_site(store, settings, today=TODAY)  # nothing changed
    assert {p.name: p.read_bytes() for p in (site / "calendriers").glob("*.ics")} == before

    set_override(store, ids["call_open"], {"deadline": "2026-12-18"}, "anne")
    set_override(
        store,
        ids["event"],
        {"event": {"start": "2026-12-11T14:00", "end": None, "place": "Thionville"}},
        "anne",
    )
    build_site(store, settings, today=TODAY)
    new = events_of(site / "calendriers/tout.ics")
    for uid in (call, meeting):
        assert new[uid].decoded("sequence") == 1, uid
        assert new[uid].decoded("last-modified") == second, uid
    assert new[call].decoded("dtstart") == date(2026, 12, 18)
    untouched = set(new) - {call, meeting}
    assert untouched and all(new[u].to_ical() == old[u].to_ical() for u in untouched)

    set_override(store, ids["call_open"], {"deadline": "2026-12-19"}, "anne")
    build_site(store, settings, today=TODAY)
    assert events_of(site / "calendriers/tout.ics")[call].decoded("sequence") == 2


def test_bulletin_agenda_shows_dates_times_and_places(built) -> None:  # noqa: ANN001
    bulletin = build_bulletin(built["store"], WEEK, built["settings"])
    trainings = next(s for s in bulletin.sections if s.id == "formation").entries
    assert trainings[0].title == "Formation aux diagnostics de flux"
    html, text = render_email(bulletin, built["settings"])
    web = render_web(bulletin, built["settings"])
    when = "Quand : jeudi 10 décembre 2026, de 9 h 30 à 17 h — Metz, Arsenal"
    assert when in text
    assert "Quand : du lundi 14 décembre au mercredi 16 décembre 2026 — Nancy" in text
    for page in (html, web):
        assert "jeudi 10 décembre 2026, de 9 h 30 à 17 h — Metz, Arsenal" in page


def test_month_view_without_javascript(built) -> None:  # noqa: ANN001
    site = built["site"]
    page = (site / "calendrier/2026-12.html").read_text(encoding="utf-8")
    assert "<script" not in page
    # One cell per day; the meeting on the 10th with its time, the call on the 15th.
    cells = dict(re.findall(r'<time datetime="(2026-12-\d\d)">(.*?)</td>', page, re.S))
    assert "9 h 30" in cells["2026-12-10"] and "Rencontre régionale" in cells["2026-12-10"]
    assert "Clôture" in cells["2026-12-15"] and "chaleur fatale" in cells["2026-12-15"]
    for day in ("14", "15", "16"):  # the training on each of its three days
        assert "Formation aux diagnostics de flux" in cells[f"2026-12-{day}"]
    assert "(suite)" in cells["2026-12-15"] and "(suite)" not in cells["2026-12-14"]
    assert 'href="../calendriers/tout.ics"' in page
    assert 'href="../calendrier/energie/2026-12.html"' in page  # the theme filter: plain links
    assert 'href="../calendrier/2026-11.html" rel="prev"' in page
    # Filtered by theme: the energy call and training, not the "territoire" meeting.
    energy = (site / "calendrier/energie/2026-12.html").read_text(encoding="utf-8")
    assert "chaleur fatale" in energy and "Formation aux diagnostics" in energy
    assert "Rencontre régionale" not in energy
    assert 'aria-current="page">Énergie' in energy
    # The calendar's first page is the month of the build, today marked.
    current = (site / "calendrier/index.html").read_text(encoding="utf-8")
    assert "Calendrier — novembre 2026" in current and 'aria-current="date"' in current
    # A month with nothing says it once (it read « 0 ce mois-ci », then « Rien de daté »).
    empty = [
        page
        for path in (site / "calendrier").rglob("*.html")
        if "Rien de daté" in (page := path.read_text(encoding="utf-8"))
    ]
    assert empty and not any("0 ce mois-ci" in page for page in empty)


def test_summer_times_read_back_with_their_offset() -> None:
    from watcher.publish.calendars import dated_items, ics_calendar
    from watcher.publish.selection import make_entry

    row = {
        "id": 1,
        "uid": "u1",
        "title": "Visite d'été",
        "url": "https://example.org/visite",
        "first_seen": datetime(2027, 6, 1, 8, tzinfo=ZoneInfo("UTC")),
        "labels": {"relevant": True, "type": "evenement", "themes": ["eau"]},
        "event": {"start": "2027-07-08T10:00", "end": "2027-07-08T12:00", "place": "Épinal"},
    }
    data = ics_calendar(
        dated_items([row]),
        title="t",
        entry_of=lambda r: make_entry(r, date(2027, 6, 1)),
        link=lambda e: e.url,
    )
    (event,) = Calendar.from_ical(data).walk("VEVENT")
    start = event.decoded("dtstart")
    assert start == datetime(2027, 7, 8, 10, tzinfo=PARIS)
    assert start.utcoffset().total_seconds() == 7200  # CEST
    assert event.decoded("dtend").astimezone(ZoneInfo("UTC")).hour == 10


def test_month_pages_follow_the_current_month_on_a_rebuild(seeded) -> None:  # noqa: ANN001
    """Built in November then in December, the September page's « Mois en cours » linked
    to November: its key did not hold the current month, so the page was reused."""
    store, _, settings = seeded
    site = settings.publish.site_dir
    build_site(store, settings, today=date(2026, 11, 25))
    build_site(store, settings, today=date(2026, 12, 2))
    for name in ("2026-09.html", "2026-10.html", "2026-11.html"):
        text = (site / "calendrier" / name).read_text(encoding="utf-8")
        assert re.findall(r'href="([^"]+)">Mois en cours', text) == [
            "../calendrier/2026-12.html"
        ], name
        assert 'aria-current="date"' not in text, name
