"""End to end: `run_demo` runs the real pipeline over the demo web into a fresh folder.

One run of every step, with a second crawl slipped in right after the first
against the same server (every feed answers 304 and nothing is added); then a
second `run_demo` (collect only), which recreates the database and finds the
same items again. The classifier trains with 2 folds to keep this quick.
"""

from __future__ import annotations

import email
import html
import re
from email import policy

import pytest

from watcher.collect import run_collect
from watcher.demo import SITE_URL, STEPS, run_demo
from watcher.demo.content import BROKEN, load_demo
from watcher.demo.server import paris_today
from watcher.settings import Settings
from watcher.store import Store
from watcher.store.bulletins import load_items
from watcher.store.items import iter_items

pytestmark = pytest.mark.slow

WORKING = {s.id for s in load_demo(paris_today())}


@pytest.fixture(scope="module")
def collected(tmp_path_factory):
    out = tmp_path_factory.mktemp("demo")
    second = {}

    def collect_again(ctx, _result):
        second["report"] = run_collect(ctx.sources, db=ctx.store, settings=ctx.settings)
        second["items"] = list(iter_items(ctx.store))
        return "again"

    steps = [STEPS[0], ("again", collect_again), *STEPS[1:]]
    settings = Settings()
    settings = settings.model_copy(
        update={"classify": settings.classify.model_copy(update={"cv_folds": 2})}
    )
    first = run_demo(out, settings=settings, steps=steps, echo=lambda _l: None)
    with Store(first.db_path) as store:
        items = list(iter_items(store))
        # The types the classifier gave (a later test recreates the database).
        second["types"] = {r["title"]: (r["labels"] or {}).get("type") for r in load_items(store)}
    return out, first, items, second


def test_every_working_source_brings_items(collected):
    _out, result, items, _second = collected
    by_source = {s.source_id: s for s in result.collect_report.sources}
    for source_id in WORKING:
        assert by_source[source_id].status == "ok", by_source[source_id]
    carried = {source for item in items for source in item.sources}
    assert carried == WORKING
    assert 130 <= len(items) <= 150


def test_broken_sources_are_recorded_as_failed_with_their_reason(collected):
    _out, result, _items, _second = collected
    by_source = {s.source_id: s for s in result.collect_report.sources}
    for broken in BROKEN:
        report = by_source[broken.id]
        assert report.status == "failed" and report.error_kind and report.error_message
        assert report.http_status == broken.status
    assert by_source["demo-panne-500"].error_kind == "http_5xx"
    assert by_source["demo-flux-deplace"].error_kind == "http_404"


def test_the_story_published_by_two_sources_is_one_item(collected):
    _out, _result, items, _second = collected
    verrerie = [i for i in items if "verrerie" in i.url]
    assert len(verrerie) == 1  # linked with utm_* parameters and a fragment by the press
    assert set(verrerie[0].sources) == {"demo-agence", "demo-presse"}
    assert "utm_" not in verrerie[0].url and "#" not in verrerie[0].url
    palettes = [i for i in items if "palettes" in i.url]
    assert len(palettes) == 1  # the press release republished at another URL
    assert set(palettes[0].sources) == {"demo-agence", "demo-presse"}


def test_structured_fields_and_texts_of_each_kind_arrive(collected):
    _out, _result, items, _second = collected
    jorf = [i for i in items if i.sources == ["demo-jorf"]]
    assert len(jorf) == 10  # 14 texts, 4 without our keywords
    assert all(i.extra.get("nor") for i in jorf)
    assert not any("sous-préfet" in i.title for i in jorf)
    api = [i for i in items if "demo-aides-api" in i.sources]
    assert sum(1 for i in api if i.extra.get("deadline")) == 15
    pdf = [i for i in items if i.url.endswith(".pdf")]
    assert len(pdf) == 3 and all("Cahier des charges" in i.text for i in pdf)
    article = next(i for i in items if i.url.endswith("/economie-circulaire-entreprises/"))
    assert "Date limite de dépôt" in article.text


def test_a_second_collect_adds_nothing_and_gets_304s(collected):
    _out, _result, items, second = collected
    report = second["report"]
    assert sum(s.items_new for s in report.sources) == 0
    assert len(second["items"]) == len(items)
    statuses = {s.source_id: (s.status, s.http_status) for s in report.sources}
    for source_id in WORKING - {"demo-aides-api"}:
        assert statuses[source_id] == ("not_modified", 304), source_id


def test_the_pipeline_ends_with_a_bulletin_a_site_and_e_mails(collected):
    out, result, _items, _second = collected
    assert [name for name, _line, _s in result.steps] == [
        "collect",
        "again",
        *(name for name, _ in STEPS[1:]),
    ]
    assert "items labelled" in dict((n, line) for n, line, _ in result.steps)["classify"]
    page = (out / "bulletins" / result.week / "index.html").read_text(encoding="utf-8")
    bulletin = html.unescape(page)
    titles = [i.title for s in load_demo(paris_today()) for i in s.items]
    assert sum(title in bulletin for title in titles) >= 5
    # The press's sport, politics and consumer stories stay out of the bulletin.
    press = next(s for s in load_demo(paris_today()) if s.id == "demo-presse")
    offtopic = [i.title for i in press.items if i.offtopic]
    assert len(offtopic) == 7
    assert not any(title in bulletin for title in offtopic)
    assert (out / "site" / "index.html").is_file()
    assert any("http.server" in note and str(out / "site") in note for note in result.notes)
    messages = sorted((out / "mail" / result.week).glob("*.eml"))
    assert len(messages) == 3
    bodies = []
    for path in messages:
        message = email.message_from_bytes(path.read_bytes(), policy=policy.default)
        assert message["To"] and message["Subject"]
        text = message.get_body(preferencelist=("plain",)).get_content()
        page_html = message.get_body(preferencelist=("html",)).get_content()
        # "Version en ligne" leads to the week's page of the site the closing note serves.
        online = f"{SITE_URL}bulletins/{result.week}/"
        assert f"Version en ligne : {online}" in text
        assert re.search(f'<a href="{re.escape(online)}"[^>]*>Version en ligne</a>', page_html)
        bodies.append(text)
    assert len(set(bodies)) == 3  # cut to each subscriber's themes


def test_the_demo_desk_publishes_into_the_demo_site(collected):
    from watcher.settings import load_settings

    out, result, _items, _second = collected
    note = next(n for n in result.notes if n.startswith("Desk:"))
    assert f"--settings {out / 'watcher.toml'}" in note and f"--db {out / 'watcher.db'}" in note
    settings = load_settings(out / "watcher.toml")  # what `watcher serve --settings` reads
    assert settings.publish.site_dir == (out / "site").resolve()
    assert settings.publish.output_dir == out.resolve()
    assert settings.classify.model_dir == (out / "model").resolve()
    assert settings.publish.public_url == SITE_URL


def test_the_calendars_hold_the_demo_events_at_their_paris_times(collected):
    """Every event and training the demo's texts date (in words: « le mardi 15
    décembre 2026, de 9 h 30 à 17 h, au centre des congrès de Reims ») reaches
    tout.ics with its times in Europe/Paris, its end and its place."""
    from datetime import date, datetime, timedelta
    from zoneinfo import ZoneInfo

    from icalendar import Calendar

    out, _result, _items, second = collected
    paris = ZoneInfo("Europe/Paris")
    calendar = Calendar.from_ical((out / "site" / "calendriers" / "tout.ics").read_bytes())
    by_title = {str(e["summary"]): e for e in calendar.walk("VEVENT")}
    typed = second["types"]
    expected = [
        item
        for source in load_demo(paris_today())
        for item in source.items
        if item.event_info and not item.offtopic
    ]
    checked, placed = 0, 0
    for item in expected:
        if typed.get(item.title) not in ("evenement", "formation"):
            continue  # the classifier's type decides what is an event
        event = by_title[item.title]
        info = item.event_info
        start, end = event.decoded("dtstart"), event.decoded("dtend")
        if isinstance(info.start, datetime):
            assert start == info.start.replace(tzinfo=paris), item.slug
            assert str(event["dtstart"].params["TZID"]) == "Europe/Paris", item.slug
            assert end == (info.end or info.start + timedelta(hours=1)).replace(tzinfo=paris)
        else:
            assert start == info.start and not isinstance(start, datetime), item.slug
            assert end == (info.end or info.start) + timedelta(days=1), item.slug
            assert isinstance(end, date)
        if info.place:
            placed += info.place in str(event.get("location", ""))
        checked += 1
    assert checked >= 0.8 * len(expected) and checked >= 20, (checked, len(expected))
    with_place = [
        i
        for i in expected
        if i.event_info.place and typed.get(i.title) in ("evenement", "formation")
    ]
    assert placed >= 0.8 * len(with_place), (placed, len(with_place))
    closing = [e for e in by_title if e.startswith("Clôture : ")]
    assert len(closing) >= 10


# Last: it recreates the folder the tests above read.
def test_running_the_demo_again_recreates_the_same_store(collected):
    out, _result, items, _second = collected
    again = run_demo(out, steps=[STEPS[0]], echo=lambda _l: None)
    with Store(again.db_path) as store:
        items_again = list(iter_items(store))
    assert len(items_again) == len(items)
    assert {i.title for i in items_again} == {i.title for i in items}
