"""Untrusted content stays inert in every output: site, bulletin, e-mail, feeds, calendars."""

from __future__ import annotations

import re

import feedparser
from icalendar import Calendar

from tests.publish.conftest import WEEK
from watcher.publish.bulletin import build_bulletin, render_email, write_bulletin
from watcher.publish.sanitize import plain_text, safe_html, safe_url
from watcher.store.bulletins import load_items

FORBIDDEN = ["alert(", "javascript:", "onerror", "onclick", "<iframe", "evil.example", "cookie"]


def assert_inert(text: str, where: str, own_style: bool = False) -> None:
    lowered = text.lower()
    for needle in FORBIDDEN:
        assert needle not in lowered, f"{needle!r} in {where}"
    # The only scripts are ours, loaded from files of the site (the search page).
    for tag in re.findall(r"<script[^>]*>", lowered):
        assert re.fullmatch(r'<script src="[./]*(pagefind/[^"]+|assets/search\.js)">', tag), where
    if not own_style:  # matplotlib's SVG charts carry their own <style>
        assert "<style" not in lowered.split("</head>")[-1], where


def test_sanitize_helpers() -> None:
    assert plain_text('<b onclick="x()">Gras</b> <script>alert(1)</script>et fin') == "Gras et fin"
    assert safe_url("javascript:alert(1)") == "" and safe_url(" JAVASCRIPT:x") == ""
    assert safe_url("https://example.org/a") == "https://example.org/a"
    kept = str(
        safe_html('<p style="x" onclick="y">A <a href="javascript:z">l</a><iframe></iframe></p>')
    )
    assert kept.startswith("<p>A <a") and "javascript" not in kept and "iframe" not in kept
    assert 'rel="noopener noreferrer nofollow"' in str(safe_html('<a href="https://e.org">e</a>'))


def test_hostile_item_is_inert_on_the_site(built) -> None:  # noqa: ANN001
    site, ids, store = built["site"], built["ids"], built["store"]
    uid = load_items(store, ids=[ids["hostile"]])[0]["uid"]
    (page,) = list((site / "items").glob(f"*/{uid}.html"))
    text = page.read_text(encoding="utf-8")
    assert "Appel piégé" in text  # the item is there, only its markup is gone
    assert_inert(text, str(page))
    for path in site.rglob("*"):
        if path.suffix in {".html", ".xml", ".ics", ".svg"} and "pagefind" not in path.parts:
            assert_inert(path.read_text(encoding="utf-8"), str(path), path.suffix == ".svg")


def test_hostile_item_is_inert_in_feeds_and_calendars(built) -> None:  # noqa: ANN001
    site = built["site"]
    parsed = feedparser.parse((site / "feeds/energie.xml").read_bytes())
    entry = next(e for e in parsed.entries if e.title.startswith("Appel piégé"))
    assert_inert(entry.title + entry.get("summary", "") + str(entry.get("links")), "feed entry")
    cal = Calendar.from_ical((site / "calendriers/energie.ics").read_bytes())
    hostile = [e for e in cal.walk("VEVENT") if "Appel piégé" in str(e["summary"])]
    assert hostile
    assert_inert(str(hostile[0].to_ical(), "utf-8"), "calendar event")


def test_hostile_item_is_inert_in_bulletin_and_email(seeded) -> None:  # noqa: ANN001
    store, ids, settings = seeded
    bulletin = build_bulletin(store, WEEK, settings)
    assert ids["hostile"] in {e.item_id for e in bulletin.entries}
    html, text = render_email(bulletin, settings)
    assert_inert(html, "e-mail HTML")
    assert_inert(text, "e-mail text")
    for path in write_bulletin(store, WEEK, settings):
        content = path.read_text(encoding="utf-8")
        if path.name == "index.html":  # the web version keeps our own <style> in <head>
            assert content.lower().count("<style") == 1
            content = content.replace(
                content[content.index("<style") : content.index("</style>")], ""
            )
        assert_inert(content, str(path))


def test_hostile_event_place_is_inert(seeded) -> None:  # noqa: ANN001
    from tests.publish.conftest import TODAY
    from watcher.publish.site import build_site
    from watcher.store.labels import set_override

    store, ids, settings = seeded
    place = '<img src=x onerror="alert(7)">Metz<script>alert(8)</script>'
    set_override(store, ids["event"], {"event": {"start": "2026-12-10", "place": place}}, "anne")
    build_site(store, settings, today=TODAY)
    site = settings.publish.site_dir
    uid = load_items(store, ids=[ids["event"]])[0]["uid"]
    pages = [site / "calendrier/2026-12.html", *(site / "items").glob(f"*/{uid}.html")]
    for path in [*pages, site / "feeds/tout.xml", site / "calendriers/tout.ics"]:
        text = path.read_text(encoding="utf-8")
        assert "Metz" in text or path.suffix == ".html", path
        assert_inert(text, str(path))
    cal = Calendar.from_ical((site / "calendriers/tout.ics").read_bytes())
    (meeting,) = [e for e in cal.walk("VEVENT") if str(e["uid"]).startswith(uid)]
    assert str(meeting["location"]) == "Metz"
    html, text = render_email(build_bulletin(store, WEEK, settings), settings)
    assert_inert(html, "e-mail HTML")
    assert_inert(text, "e-mail text")
