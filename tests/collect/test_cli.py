"""The collect commands: collect, sources check, sources add, export."""

from __future__ import annotations

import csv
import io
import json

import pytest
from click.testing import CliRunner

from tests.collect.conftest import Reply, article, rss
from watcher.cli import main


def write_sources(tmp_path, web) -> str:  # noqa: ANN001
    path = tmp_path / "sources.yaml"
    path.write_text(
        f"""sources:
  - id: actus
    name: Actualités
    kind: rss
    url: {web.url("/feed.xml")}
  - id: disparu
    name: Source disparue
    kind: rss
    url: {web.url("/gone.xml")}
""",
        encoding="utf-8",
    )
    settings = tmp_path / "watcher.toml"
    settings.write_text(
        "[collect]\ndownload_delay_s = 0.0\nautothrottle = false\nretry_times = 0\ndownload_timeout_s = 3.0\n",
        encoding="utf-8",
    )
    return ["--sources", str(path), "--db", str(tmp_path / "w.db"), "--settings", str(settings)]


def serve(web) -> None:  # noqa: ANN001
    entries = [
        (web.url(f"/a/{i}?xtor=RSS-1"), f"Économie circulaire {i}", "Résumé") for i in range(2)
    ]
    web.routes["/feed.xml"] = Reply(rss(entries), content_type="application/rss+xml", etag=True)
    for i in range(2):
        web.routes[f"/a/{i}"] = Reply(article(f"Économie circulaire {i}", 70 + i))


def test_collect_prints_a_summary_and_exits_0_when_a_source_fails(tmp_path, web) -> None:  # noqa: ANN001
    serve(web)
    options = write_sources(tmp_path, web)
    result = CliRunner().invoke(main, ["collect", *options])
    assert result.exit_code == 0, result.output
    assert "actus" in result.output and "http_404" in result.output
    assert "2 new items" in result.output and "1 failed" in result.output

    only = CliRunner().invoke(main, ["collect", "--only", "actus", *options])
    assert only.exit_code == 0 and "unchanged" in only.output and "disparu" not in only.output

    check = CliRunner().invoke(main, ["sources", "check", *options])
    assert check.exit_code == 0, check.output
    assert (
        "disparu" in check.output
        and "http_404" in check.output
        and "failed in the last" in check.output
    )

    exported = CliRunner().invoke(main, ["export", "--format", "jsonl", *options])
    rows = [json.loads(line) for line in exported.output.splitlines()]
    assert [r["url"] for r in rows] == [web.url("/a/0"), web.url("/a/1")]
    assert rows[0]["sources"] == ["actus"] and rows[0]["labels"] is None
    assert rows[0]["title"] == "Économie circulaire 0" and len(rows[0]["text"]) > 500

    as_csv = CliRunner().invoke(main, ["export", "--format", "csv", *options])
    table = list(csv.DictReader(io.StringIO(as_csv.output)))
    assert [r["id"] for r in table] == [str(r["id"]) for r in rows]
    assert list(table[0]) == [
        "id",
        "url",
        "title",
        "summary",
        "text",
        "published",
        "first_seen",
        "sources",
        "labels",
    ]


def test_collect_unknown_only_id_is_a_usage_error(tmp_path, web) -> None:  # noqa: ANN001
    options = write_sources(tmp_path, web)
    result = CliRunner().invoke(main, ["collect", "--only", "nope", *options])
    assert result.exit_code == 2 and "nope" in result.output


def test_sources_add_finds_feeds_and_prints_an_entry(tmp_path, web) -> None:  # noqa: ANN001
    serve(web)
    web.routes["/"] = Reply(
        b"""<html><head><title>Agence de l'eau</title>
        <link rel="alternate" type="application/rss+xml" href="/feed.xml"></head><body>Accueil</body></html>"""
    )
    web.routes["/atom.xml"] = Reply(
        b'<?xml version="1.0"?><feed xmlns="http://www.w3.org/2005/Atom"><title>Atom</title>'
        b"<entry><title>x</title><link href='http://example.org/x'/><id>x</id><updated>2026-11-01T00:00:00Z</updated></entry></feed>",
        content_type="application/atom+xml",
    )
    options = write_sources(tmp_path, web)
    result = CliRunner().invoke(main, ["sources", "add", web.url("/"), *options])
    assert result.exit_code == 0, result.output
    assert f"url: {web.url('/feed.xml')}" in result.output and "kind: rss" in result.output
    assert "other feed found" in result.output and "atom.xml" in result.output
    from watcher.config import parse_sources

    entry = "\n".join(
        line
        for line in result.output.splitlines()
        if not line.lstrip().startswith("#") and "feed(s) found" not in line
    )
    parsed = parse_sources("sources:\n" + entry)
    assert parsed.sources[0].kind == "rss"


def test_collect_refuses_to_overlap_a_running_crawl(tmp_path, web) -> None:  # noqa: ANN001
    from watcher.collect.lock import crawl_lock

    serve(web)
    options = write_sources(tmp_path, web)
    with crawl_lock(tmp_path / "w.db.crawl.lock"):  # as the scheduler holds it
        busy = CliRunner().invoke(main, ["collect", *options])
    assert busy.exit_code == 1 and "another crawl is running" in busy.output
    assert not web.requests_to("/feed.xml")
    free = CliRunner().invoke(main, ["collect", *options])
    assert free.exit_code == 0 and len(web.requests_to("/feed.xml")) == 1


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[::1", "is not a valid URL (Invalid IPv6 URL)"),
        ("http://example.org:99999/feed", "has an invalid port"),
    ],
)
def test_sources_add_refuses_a_url_it_cannot_fetch(tmp_path, monkeypatch, url, why) -> None:  # noqa: ANN001
    # The first was an unexpected ValueError; the second printed an entry, exit 0.
    import watcher.collect.discover

    def no_fetch(*args, **kwargs):  # noqa: ANN002, ANN003, ANN202
        raise AssertionError("the URL must be refused before any fetch")

    monkeypatch.setattr(watcher.collect.discover, "discover_feeds", no_fetch)
    result = CliRunner().invoke(
        main, ["sources", "add", url, "--sources", str(tmp_path / "sources.yaml")]
    )
    assert result.exit_code == 2, result.output
    assert f"Error: Invalid value for URL: '{url}' {why}" in result.output


def test_sources_add_skips_a_feed_link_it_cannot_fetch(tmp_path, web) -> None:  # noqa: ANN001
    # One such <link> raised ValueError in the page's parsing: no feed was found at all.
    serve(web)
    links = "".join(
        f'<link rel="alternate" type="application/rss+xml" href="{href}">'
        for href in ("http://[::1/feed", "http://127.0.0.1:99999/feed", "/feed.xml")
    )
    web.routes["/"] = Reply(f"<html><head>{links}</head><body>Accueil</body></html>".encode())
    options = write_sources(tmp_path, web)
    result = CliRunner().invoke(main, ["sources", "add", web.url("/"), *options])
    assert result.exit_code == 0, result.output
    assert f"url: {web.url('/feed.xml')}" in result.output and "kind: rss" in result.output
