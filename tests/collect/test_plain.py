"""The crawl child reads sources and settings as plain objects, without pydantic."""

from __future__ import annotations

import subprocess
import sys

from tests.collect.conftest import sources_from
from watcher.collect import source_job
from watcher.collect.crawl import scrapy_settings
from watcher.collect.plain import plain_settings, plain_source
from watcher.settings import CollectSettings

SOURCES = """sources:
  - id: aides
    name: Aides
    kind: api
    url: https://example.org/api/aids/
    api:
      items_path: results
      fields: {url: url, title: name}
      params: {perimeter: grand-est}
      pagination: {style: page, param: page, max_pages: 5}
      auth: {style: header, key_env: PLAIN_TEST_KEY}
  - id: page
    name: Page
    kind: html
    url: https://example.org/news
    html: {item: article, link: "a::attr(href)", page_limit: 3}
  - id: journal
    name: Journal
    kind: jorf
    url: https://example.org/jorf/
    jorf: {natures: [ARRETE], max_archives: 2}
  - id: feed
    name: Feed
    kind: rss
    url: https://example.org/feed.xml
"""


def test_a_plain_source_answers_what_the_crawl_reads(monkeypatch) -> None:  # noqa: ANN001
    monkeypatch.setenv("PLAIN_TEST_KEY", "s3cret")
    api, page, journal, feed = [plain_source(source_job(s)) for s in sources_from(SOURCES).sources]
    assert (api.id, api.kind, api.url, api.fetch_article) == (
        "aides",
        "api",
        "https://example.org/api/aids/",
        True,
    )
    assert api.api.fields == {"url": "url", "title": "name"} and api.api.params["perimeter"]
    assert (api.api.pagination.style, api.api.pagination.max_pages, api.api.pagination.size) == (
        "page",
        5,
        50,
    )
    assert api.api.auth.secret() == "s3cret" and api.api.auth.header == "Authorization"
    assert (page.html.item, page.html.page_limit, page.html.next_page) == ("article", 3, None)
    assert journal.jorf.natures == ["ARRETE"] and journal.jorf.max_archives == 2
    assert feed.api is None and feed.html is None and feed.jorf is None and feed.sitemap is None


def test_plain_settings_give_the_same_scrapy_settings() -> None:
    collect = CollectSettings(concurrent_per_host=3, user_agent="watcher/test")
    assert scrapy_settings(plain_settings(collect.model_dump(mode="json"))) == scrapy_settings(
        collect
    )


def test_the_crawl_child_does_not_import_pydantic_yaml_rich_or_click() -> None:
    code = (
        "import sys, watcher.collect.crawl, watcher.collect.spider, watcher.collect.robots, "
        "watcher.collect.middlewares, watcher.collect.plain, watcher.collect.guard, "
        "watcher.collect.process, scrapy.crawler\n"
        "print(' '.join(sorted({m.split('.')[0] for m in sys.modules})))"
    )
    loaded = set(
        subprocess.run(
            [sys.executable, "-c", code], capture_output=True, text=True, check=True
        ).stdout.split()
    )
    assert "scrapy" in loaded and "sqlalchemy" in loaded
    assert not loaded & {"pydantic", "pydantic_core", "yaml", "rich", "click"}
