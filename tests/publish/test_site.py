"""The archive site: pages, relative links, feeds, calendars, incremental and atomic builds."""

from __future__ import annotations

import os
import re
from pathlib import Path

import feedparser
import pytest

from tests.publish import factory
from tests.publish.conftest import TODAY, WEEK
from watcher.base.taxonomy import load_taxonomy
from watcher.exceptions import PublishError
from watcher.publish import site as site_module
from watcher.publish.bulletin import publish_bulletin
from watcher.publish.site import build_site
from watcher.settings import Settings


def html_files(site: Path) -> list[Path]:
    return [p for p in site.rglob("*.html") if "pagefind" not in p.parts]


def item_page(site: Path, uid: str) -> Path:
    (found,) = list((site / "items").glob(f"*/{uid}.html"))
    return found


def uid_of(store, item_id: int) -> str:  # noqa: ANN001
    from watcher.store.bulletins import load_items

    return load_items(store, ids=[item_id])[0]["uid"]


def test_pages_exist_in_french(built) -> None:  # noqa: ANN001
    site = built["site"]
    for rel in [
        "index.html",
        "bulletins/index.html",
        f"bulletins/{WEEK}/index.html",
        "themes/index.html",
        "themes/energie/index.html",
        "types/appel_a_projets/index.html",
        "mois/index.html",
        "mois/2026-11.html",
        "appels/index.html",
        "indicateurs/index.html",
        "indicateurs/themes.svg",
        "recherche/index.html",
        "abonnements/index.html",
        "feeds/tout.xml",
        "calendriers/tout.ics",
    ]:
        assert (site / rel).is_file(), rel
    for page in html_files(site):
        text = page.read_text(encoding="utf-8")
        assert '<html lang="fr">' in text, page
        assert 'id="recherche-rapide"' in text, page  # the search box on every page
    assert any((site / "pagefind").rglob("pagefind-entry.json"))


def test_only_relative_links(built) -> None:  # noqa: ANN001
    site = built["site"]
    for page in html_files(site):
        text = page.read_text(encoding="utf-8")
        for url in re.findall(r'(?:href|src|action)="([^"]*)"', text):
            if url.startswith(("http://", "https://", "data:", "#", "mailto:")):
                continue
            assert not url.startswith("/"), (page, url)
            target = (page.parent / url.split("#")[0].split("?")[0]).resolve()
            assert target.exists(), (page, url)


def test_home_bulletin_and_calls(built) -> None:  # noqa: ANN001
    site, ids, store = built["site"], built["ids"], built["store"]
    home = (site / "index.html").read_text(encoding="utf-8")
    assert f"bulletins/{WEEK}/index.html" in home
    assert "Appel à projets chaleur fatale Grand Est" in home
    calls = (site / "appels/index.html").read_text(encoding="utf-8")
    soon = calls.index("AMI réemploi des matériaux du BTP")
    later = calls.index("Appel à projets chaleur fatale Grand Est")
    assert soon < later  # by closing date
    assert "Appel clos sur les biodéchets" not in calls
    bulletin = (site / f"bulletins/{WEEK}/index.html").read_text(encoding="utf-8")
    assert f"items/2026-t4/{uid_of(store, ids['call_open'])}.html" in bulletin
    assert bulletin.index("Appels à projets") < bulletin.index("Réglementation")


def test_item_page_has_labels_but_not_the_full_text(built) -> None:  # noqa: ANN001
    site, ids, store = built["site"], built["ids"], built["store"]
    page = item_page(site, uid_of(store, ids["call_open"])).read_text(encoding="utf-8")
    assert "Appel à projets chaleur fatale Grand Est" in page
    assert "Énergie" in page and "Date limite" in page
    assert "15 décembre 2026" in page
    assert "https://ademe.example.org/aap-chaleur" in page
    assert "PHRASE FINALE SECRETE" not in page
    irrelevant = uid_of(store, ids["irrelevant"])
    assert not list((site / "items").glob(f"*/{irrelevant}.html"))


def test_indicators_have_charts_and_tables(built) -> None:  # noqa: ANN001
    site = built["site"]
    page = (site / "indicateurs/index.html").read_text(encoding="utf-8")
    for chart in ("themes.svg", "types.svg", "sources.svg"):
        assert f'src="{chart}"' in page
        assert (site / "indicateurs" / chart).read_bytes().lstrip().startswith(b"<?xml")
    assert "<caption>Informations par semaine et par thème</caption>" in page
    assert "Région Grand Est" in page and "en échec" in page  # CCI's last run failed


def test_feeds_read_back(built) -> None:  # noqa: ANN001
    site, ids, store = built["site"], built["ids"], built["store"]
    feeds = sorted((site / "feeds").glob("*.xml"))
    assert {f.stem for f in feeds} == {"tout", *load_taxonomy().names["themes"]}
    for path in feeds:
        parsed = feedparser.parse(path.read_bytes())
        assert not parsed.bozo, (path, parsed.get("bozo_exception"))
        assert parsed.feed.title.startswith("Veille EIT Grand Est")
        # No public_url: no self link rather than an invented address.
        assert not [link for link in parsed.feed.get("links", []) if link.rel == "self"], path
        assert b"veille.invalid" not in path.read_bytes()
    water = feedparser.parse((site / "feeds/eau.xml").read_bytes())
    decree = f"tag:veille-eit-grand-est.fr,2026:item/{uid_of(store, ids['decree'])}"
    assert decree in [e.id for e in water.entries]
    everything = feedparser.parse((site / "feeds/tout.xml").read_bytes())
    assert len(everything.entries) == 50
    titles = [e.title for e in everything.entries]
    assert "Appel à projets chaleur fatale Grand Est" in titles
    assert "Résultats du match de football" not in titles
    # Dates a reader acts on: in the content and as categories.
    by_title = {e.title: e for e in everything.entries}
    call = by_title["Appel à projets chaleur fatale Grand Est"]
    assert "Date limite : 15 décembre 2026" in call.content[0].value
    deadline = [t for t in call.tags if (t.scheme or "").endswith(":date-limite")]
    assert [t.term for t in deadline] == ["2026-12-15"]
    meeting = by_title["Rencontre régionale des animateurs EIT"]
    assert "Quand : jeudi 10 décembre 2026, de 9 h 30 à 17 h — Metz, Arsenal" in (
        meeting.content[0].value
    )
    assert [t.term for t in meeting.tags if (t.scheme or "").endswith(":evenement")] == [
        "2026-12-10T09:30"
    ]


def test_feeds_with_a_public_url_and_the_opml_list(seeded) -> None:  # noqa: ANN001
    from xml.etree import ElementTree

    store, _ids, settings = seeded
    settings.publish.public_url = "https://veille.example.org"
    build_site(store, settings, today=TODAY)
    site = settings.publish.site_dir
    energy = feedparser.parse((site / "feeds/energie.xml").read_bytes())
    links = {link.rel: link.href for link in energy.feed.links}
    assert links["self"] == "https://veille.example.org/feeds/energie.xml"
    assert links["alternate"] == "https://veille.example.org/themes/energie/index.html"
    assert all(e.link.startswith("https://veille.example.org/items/") for e in energy.entries)
    opml = ElementTree.parse(site / "feeds/veille.opml").getroot()
    assert opml.get("version") == "2.0"
    outlines = {o.get("xmlUrl"): o for o in opml.iter("outline") if o.get("xmlUrl")}
    assert len(outlines) == 1 + len(load_taxonomy().names["themes"])
    energy_outline = outlines["https://veille.example.org/feeds/energie.xml"]
    assert energy_outline.get("text") == "Veille EIT Grand Est — Énergie"
    assert energy_outline.get("type") == "rss"


def test_opml_without_public_url_lists_relative_feeds(built) -> None:  # noqa: ANN001
    from xml.etree import ElementTree

    site = built["site"]
    opml = ElementTree.parse(site / "feeds/veille.opml").getroot()
    urls = [o.get("xmlUrl") for o in opml.iter("outline") if o.get("xmlUrl")]
    assert "tout.xml" in urls and all((site / "feeds" / url).is_file() for url in urls)
    page = (site / "abonnements/index.html").read_text(encoding="utf-8")
    assert 'href="../feeds/veille.opml"' in page and "calendrier/index.html" in page


def test_theme_pages_link_and_autodiscover_their_own_feed(built) -> None:  # noqa: ANN001
    site = built["site"]
    for rel in ("themes/energie/index.html", "themes/energie/2026-11.html"):
        page = (site / rel).read_text(encoding="utf-8")
        alternates = re.findall(r'<link rel="alternate" type="application/atom\+xml"[^>]*>', page)
        assert len(alternates) == 1 and 'href="../../feeds/energie.xml"' in alternates[0], rel
        assert 'href="../../calendrier/energie/index.html"' in page
        assert 'href="../../calendriers/energie.ics"' in page
        assert 'href="../../recherche/index.html?theme=energie"' in page
    home = (site / "index.html").read_text(encoding="utf-8")
    assert 'href="./feeds/tout.xml"' in home


def test_rebuild_keeps_ids_and_rewrites_only_what_changed(seeded) -> None:  # noqa: ANN001
    store, ids, settings = seeded
    site = settings.publish.site_dir
    first = build_site(store, settings, today=TODAY)
    assert first.pagefind_ran and first.written == first.pages
    feed_before = (site / "feeds/tout.xml").read_bytes()
    ics_before = (site / "calendriers/tout.ics").read_bytes()
    old_page = item_page(site, uid_of(store, ids["decree"]))
    old_mtime = old_page.stat().st_mtime_ns
    os.utime(old_page, ns=(old_mtime - 10**9, old_mtime - 10**9))  # make a rewrite visible
    kept_mtime = old_page.stat().st_mtime_ns

    same = build_site(store, settings, today=TODAY)
    assert same.written == 0 and not same.pagefind_ran
    assert (site / "feeds/tout.xml").read_bytes() == feed_before
    assert (site / "calendriers/tout.ics").read_bytes() == ics_before
    assert item_page(site, uid_of(store, ids["decree"])).stat().st_mtime_ns == kept_mtime

    new_id = factory.add_item(
        store,
        title="Nouvelle synergie eau industrielle",
        summary="Une nouvelle synergie.",
        first_seen=factory.datetime(2026, 11, 25, 8, tzinfo=factory.UTC),
        labels=factory.labels("actualite", ["eau"]),
    )
    more = build_site(store, settings, today=TODAY)
    assert more.bundles_indexed == ["2026-11"]  # the new item's month only
    assert (site / "pagefind/2026-t3/pagefind-entry.json").is_file()
    new_uid = uid_of(store, new_id)
    assert f"items/2026-t4/{new_uid}.html" in more.written_paths
    assert not any(p.startswith("items/") and new_uid not in p for p in more.written_paths)
    assert more.written < 40 < more.pages
    assert item_page(site, uid_of(store, ids["decree"])).stat().st_mtime_ns == kept_mtime
    feed = feedparser.parse((site / "feeds/eau.xml").read_bytes())
    old_entries = feedparser.parse(feed_before).entries
    updated = {e.id: e.updated for e in old_entries}
    for entry in feed.entries:
        if entry.id in updated:
            assert entry.updated == updated[entry.id]  # an old item never looks new
    assert feed.entries[0].title == "Nouvelle synergie eau industrielle"


def test_a_site_built_by_another_version_of_the_code_is_rebuilt_whole(seeded, monkeypatch) -> None:  # noqa: ANN001
    # A page's key covers its inputs, not the code that renders it: after an upgrade
    # that changes feeds.py or calendars.py, reused feeds and events would stay old.
    store, _ids, settings = seeded
    first = build_site(store, settings, today=TODAY)
    monkeypatch.setattr("watcher.publish.writer.CODE", "another-version")
    upgraded = build_site(store, settings, today=TODAY)
    assert upgraded.written == upgraded.pages == first.pages and upgraded.pagefind_ran
    again = build_site(store, settings, today=TODAY)
    assert again.written == 0 and not again.pagefind_ran


def test_failed_build_leaves_previous_site(seeded, monkeypatch) -> None:  # noqa: ANN001
    store, _ids, settings = seeded
    site = settings.publish.site_dir
    build_site(store, settings, today=TODAY)
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}

    def broken(self) -> None:  # noqa: ANN001
        raise RuntimeError("disk full while writing the indicators")

    monkeypatch.setattr(site_module.Pages, "indicators", broken)
    factory.add_item(
        store,
        title="Jamais publié",
        first_seen=factory.datetime(2026, 11, 25, 8, tzinfo=factory.UTC),
        labels=factory.labels("actualite"),
    )
    with pytest.raises(PublishError, match="previous site .* is unchanged"):
        build_site(store, settings, today=TODAY)
    after = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before
    assert [p.name for p in site.parent.iterdir() if p.name.startswith(".site")] == []


def test_search_index_failure_leaves_previous_site(seeded, monkeypatch) -> None:  # noqa: ANN001
    from watcher.publish import search

    store, _ids, settings = seeded
    site = settings.publish.site_dir
    build_site(store, settings, today=TODAY)
    before = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    factory.add_item(
        store,
        title="Jamais indexé",
        first_seen=factory.datetime(2026, 11, 25, 8, tzinfo=factory.UTC),
        labels=factory.labels("actualite"),
    )

    def crash(staging, output, timeout_s):  # noqa: ANN001, ANN202
        raise PublishError(f"pagefind failed on {output.name} (exit 101): killed")

    monkeypatch.setattr(search, "_index_one", crash)
    with pytest.raises(PublishError, match="pagefind failed"):
        build_site(store, settings, today=TODAY)
    after = {p: p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before
    leftovers = [p.name for p in site.parent.iterdir() if p.name.startswith(".")]
    assert leftovers == []  # no temporary build or staging folder left behind
    monkeypatch.undo()
    again = build_site(store, settings, today=TODAY)
    assert again.bundles_indexed == ["2026-11"]


def test_site_build_command(seeded, tmp_path) -> None:  # noqa: ANN001
    from click.testing import CliRunner

    from watcher.cli import main

    store, _ids, _settings = seeded
    toml = tmp_path / "watcher.toml"
    toml.write_text(f'[publish]\nsite_dir = "{tmp_path / "cli-site"}"\n')
    result = CliRunner().invoke(main, ["site", "build", "--db", store.url, "--settings", str(toml)])
    assert result.exit_code == 0, result.output
    assert "python -m http.server --directory" in result.output
    assert (tmp_path / "cli-site" / "index.html").is_file()


def test_failed_swap_moves_unchanged_folders_back(seeded, monkeypatch) -> None:  # noqa: ANN001
    from watcher.publish import writer as writer_module

    store, _ids, settings = seeded
    site = settings.publish.site_dir
    build_site(store, settings, today=TODAY)
    before = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    real_replace = os.replace

    def failing_replace(src, dst):  # noqa: ANN001, ANN202
        if Path(src) == site:
            raise OSError("device busy")
        return real_replace(src, dst)

    monkeypatch.setattr(writer_module.os, "replace", failing_replace)
    with pytest.raises(PublishError, match="device busy"):
        build_site(store, settings, today=TODAY)
    monkeypatch.undo()
    after = {p.relative_to(site): p.read_bytes() for p in site.rglob("*") if p.is_file()}
    assert after == before
    assert build_site(store, settings, today=TODAY).written == 0


def test_home_shows_the_latest_published_bulletin(seeded) -> None:  # noqa: ANN001
    from watcher.store import bulletins as sb

    store, ids, settings = seeded
    sb.set_entry(store, "2026-W47", ids["decree"], user="anne", status="kept")
    publish_bulletin(store, "2026-W47", "anne", Settings())
    build_site(store, settings, today=TODAY)
    home = (settings.publish.site_dir / "index.html").read_text(encoding="utf-8")
    assert "bulletins/2026-W47/index.html" in home and f"bulletins/{WEEK}/" not in home
    page = (settings.publish.site_dir / "bulletins/2026-W47/index.html").read_text("utf-8")
    assert "Édition 1" in page and "Décret relatif" in page


def test_kept_bulletins_follow_curation_and_settings(seeded) -> None:  # noqa: ANN001
    from watcher.store import bulletins as sb

    store, ids, settings = seeded
    site = settings.publish.site_dir
    build_site(store, settings, today=TODAY)
    page = site / f"bulletins/{WEEK}/index.html"
    assert "Décret relatif" in page.read_text(encoding="utf-8")
    sb.set_entry(store, WEEK, ids["call_open"], user="anne", status="kept", pinned=True)
    build_site(store, settings, today=TODAY)
    curated = page.read_text(encoding="utf-8")
    assert "À la une" in curated and "Décret relatif" not in curated  # only kept entries
    sb.set_entry(store, WEEK, ids["call_open"], user="anne", title="Titre relu par Anne")
    build_site(store, settings, today=TODAY)
    assert "Titre relu par Anne" in page.read_text(encoding="utf-8")
    older = site / "bulletins/2026-W45/index.html"
    before = older.read_text(encoding="utf-8").count('class="card"')
    settings.publish.cap_per_section = 1
    build_site(store, settings, today=TODAY)
    assert older.read_text(encoding="utf-8").count('class="card"') < before


def test_a_stored_absurd_date_or_control_character_does_not_stop_the_build(seeded) -> None:  # noqa: ANN001
    # Stored by versions that did not clean what they collected: the build must go on.
    store, _ids, settings = seeded
    at = factory.datetime(2026, 11, 25, 8, tzinfo=factory.UTC)
    year_9999, control = factory.add_items(
        store,
        [
            {
                "title": "Appel à projets an 9999",
                "first_seen": at,
                "published": factory.datetime(9999, 12, 31, 23, 59, 59, tzinfo=factory.UTC),
                "labels": factory.labels("actualite", ["energie"]),
            },
            {
                "title": "Appel à projets \x01chaleur\x1b Grand Est",
                "summary": "Un résumé &#x1; avec\x02 contrôle.",
                "first_seen": at,
                "labels": factory.labels("evenement", ["energie"]),
                "event": {"start": "2026-12-18", "end": None, "place": "Metz\x01 Arsenal"},
            },
        ],
    )
    build_site(store, settings, today=TODAY)
    site = settings.publish.site_dir
    feed = (site / "feeds/tout.xml").read_bytes()
    parsed = feedparser.parse(feed)
    assert not parsed.bozo, parsed.get("bozo_exception")
    by_id = {e.id: e for e in parsed.entries}
    old = by_id[f"tag:veille-eit-grand-est.fr,2026:item/{uid_of(store, year_9999)}"]
    assert old.published.startswith("2026-11-25")  # first seen stands in for year 9999
    entry = by_id[f"tag:veille-eit-grand-est.fr,2026:item/{uid_of(store, control)}"]
    assert entry.title == "Appel à projets chaleur Grand Est"
    assert entry.summary == "Un résumé avec contrôle."
    calendar = (site / "calendriers/tout.ics").read_bytes()
    assert b"LOCATION:Metz Arsenal" in calendar
    for path in [*site.rglob("*.html"), *site.rglob("*.xml"), *site.rglob("*.ics")]:
        if "pagefind" not in path.parts:
            assert not re.search(rb"[\x00-\x08\x0b\x0c\x0e-\x1f]", path.read_bytes()), path
    assert item_page(site, uid_of(store, year_9999)).is_file()


def test_a_killed_builds_search_staging_is_removed_by_the_next(seeded, monkeypatch) -> None:  # noqa: ANN001
    import subprocess

    from watcher.publish import search

    store, _ids, settings = seeded
    site = settings.publish.site_dir
    ended = subprocess.Popen(["true"])  # noqa: S607 - a pid whose process has ended
    ended.wait()
    # A build killed while Pagefind indexed left its staging pages (a temporary
    # folder with a random name, that no later build removed: 0.5 MB each time).
    left = site.parent / f".{site.name}.search-{ended.pid}"
    (left / "2026-11" / "items").mkdir(parents=True)
    staged: list[Path] = []
    real = search._index_one

    def spy(staging: Path, output: Path, timeout_s: int) -> None:
        staged.append(staging.parent)
        real(staging, output, timeout_s)

    monkeypatch.setattr(search, "_index_one", spy)
    build_site(store, settings, today=TODAY)
    assert staged and set(staged) == {site.parent / f".{site.name}.search-{os.getpid()}"}
    assert not left.exists()
    assert [p.name for p in site.parent.iterdir() if p.name.startswith(f".{site.name}")] == []
