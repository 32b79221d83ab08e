"""The built site in headless Chromium (Debian's, driven by Playwright).

The checks are functions of a site folder, so the same ones run against the
demo's site: `check_search(site, word, title)`, `check_theme_filter(site, word,
theme)`, `check_bulletin_links(site, week)`.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import Any

import pytest

from tests.publish.browser import run_with_chromium, serve
from tests.publish.conftest import UNIQUE_WORD, WEEK

pytestmark = pytest.mark.browser

RESULT = ".pagefind-ui__result-link"
MESSAGE = ".pagefind-ui__message"


def result_count(page: Any) -> int:
    page.wait_for_function(
        "() => /\\d+ résultats? pour/.test(document.querySelector(arguments[0])?.innerText || '')".replace(
            "arguments[0]", repr(MESSAGE)
        ),
        timeout=15000,
    )
    return int(re.search(r"(\d+) résultat", page.inner_text(MESSAGE))[1])


def check_search(site: Path, word: str, title: str) -> None:
    """From the home page's search box, a word of an item's text finds the item."""
    run_with_chromium(lambda browser: _search(browser, site, word, title))


def _search(browser: Any, site: Path, word: str, title: str) -> None:
    with serve(site) as base:
        page = browser.new_page()
        page.goto(base + "index.html")
        page.fill("#recherche-rapide", word)
        page.press("#recherche-rapide", "Enter")
        page.wait_for_selector(RESULT, timeout=15000)
        titles = page.locator(RESULT).all_inner_texts()
        assert any(title in t for t in titles), titles
        page.locator(RESULT, has_text=title).first.click()
        page.wait_for_load_state()
        assert page.inner_text("h1") == title
        page.close()


def check_theme_filter(site: Path, word: str, theme: str) -> None:
    """Ticking a theme in the search filters narrows the results to that theme."""
    run_with_chromium(lambda browser: _theme_filter(browser, site, word, theme))


def _theme_filter(browser: Any, site: Path, word: str, theme: str) -> None:
    with serve(site) as base:
        page = browser.new_page()
        page.goto(base + f"recherche/index.html?q={word}")
        page.wait_for_selector(RESULT, timeout=15000)
        before = result_count(page)
        page.locator(".pagefind-ui__filter-name", has_text="Thème").click()
        page.locator(".pagefind-ui__filter-label", has_text=theme).first.click()
        page.wait_for_function(
            f"() => !document.querySelector({MESSAGE!r}).innerText.startsWith('{before} ')",
            timeout=15000,
        )
        after = result_count(page)
        assert 0 < after < before, (before, after)
        page.locator(RESULT).first.click()
        page.wait_for_load_state()
        assert theme in page.inner_text(".facts")
        page.close()


def check_bulletin_links(site: Path, week: str, sub_path: str = "veille/") -> None:
    """A bulletin page links to its items' pages, which load (served under a sub-path)."""
    run_with_chromium(lambda browser: _bulletin_links(browser, site, week, sub_path))


def _bulletin_links(browser: Any, site: Path, week: str, sub_path: str) -> None:
    with serve(site, sub_path=sub_path) as base:
        page = browser.new_page()
        page.goto(base + f"bulletins/{week}/index.html")
        links = page.locator("main article h3 a[href*='items/']")
        assert links.count() >= 3
        title = links.first.inner_text()
        links.first.click()
        page.wait_for_load_state()
        assert f"/{sub_path}items/" in page.url
        assert page.inner_text("h1") == title
        page.close()


def test_search_finds_an_item_by_a_word_of_its_text(built) -> None:  # noqa: ANN001
    check_search(
        built["site"],
        UNIQUE_WORD,
        "Décret relatif à la réutilisation des eaux usées traitées",
    )


def test_theme_filter_narrows_results(built) -> None:  # noqa: ANN001
    check_theme_filter(built["site"], "chaleur", "Énergie")


def test_bulletin_page_links_to_its_items(built) -> None:  # noqa: ANN001
    check_bulletin_links(built["site"], WEEK)
