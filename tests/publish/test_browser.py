"""The built site in headless Chromium (Debian's, driven by Playwright).

The checks are functions of a site folder, so the same ones can run against the
demo's site: `check_search(site, word, title)`, `check_theme_filter(site, word,
theme)`, `check_bulletin_links(site, week)`, `check_open_calls(site, ...)`.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest

from tests.publish.browser import run_with_chromium, serve
from tests.publish.conftest import TODAY, UNIQUE_WORD, WEEK

pytestmark = pytest.mark.browser

RESULT = "#resultats .result"
LINK = "#resultats .result h3 a"
COUNT = "#resultats .count"
MONTHS = {"septembre": 9, "octobre": 10, "novembre": 11, "décembre": 12}


def result_count(page: Any) -> int:
    page.wait_for_function(
        f"() => /\\d+ résultats?|Aucun/.test(document.querySelector({COUNT!r}).innerText)",
        timeout=15000,
    )
    text = page.inner_text(COUNT)
    return 0 if text.startswith("Aucun") else int(re.match(r"(\d+) résultat", text)[1])


def wait_for_answer(page: Any) -> None:
    """Until the answer to the form's last change is on the page (search.js keeps
    aria-busy on the results from a change until then)."""
    page.wait_for_function(
        "() => !document.querySelector('#resultats').hasAttribute('aria-busy')", timeout=15000
    )


def wait_for_results(page: Any) -> int:
    """The number of results, once the last change's answer is on the page and the
    count and the first page of them (up to 20) agree."""
    wait_for_answer(page)
    page.wait_for_function(
        """([count, result]) => {
            const text = document.querySelector(count).innerText;
            const found = /^(\\d+) résultat/.exec(text);
            const total = text.startsWith("Aucun") ? 0 : (found ? Number(found[1]) : -1);
            return total >= 0 && document.querySelectorAll(result).length === Math.min(total, 20);
        }""",
        arg=[COUNT, RESULT],
        timeout=15000,
    )
    return result_count(page)


def wait_for_new_count(page: Any, before: str) -> int:
    page.wait_for_function(
        f"(b) => document.querySelector({COUNT!r}).innerText !== b", arg=before, timeout=15000
    )
    return result_count(page)


def french_day(text: str) -> date:
    day, month, year = re.search(r"(\d+)(?:er)? (\w+) (\d{4})", text).groups()
    return date(int(year), MONTHS[month], int(day))


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
        wait_for_results(page)
        titles = page.locator(LINK).all_inner_texts()
        assert any(title in t for t in titles), titles
        page.locator(LINK, has_text=title).first.click()
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
        page.get_by_label(theme, exact=True).check()
        after = wait_for_new_count(page, page.inner_text(COUNT))
        assert 0 < after < before, (before, after)
        assert "theme=" in page.url  # the state is in the address
        page.locator(LINK).first.click()
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


def check_open_calls(site: Path, today: date, before: date, expected: str, absent: list[str]):  # noqa: ANN201
    """With no word, "open calls only" and "deadline before" find the calls closing
    between `today` (the browser's date) and `before`, nearest first."""
    return run_with_chromium(
        lambda browser: _open_calls(browser, site, today, before, expected, absent)
    )


def _open_calls(
    browser: Any, site: Path, today: date, before: date, expected: str, absent: list[str]
) -> list[date]:
    with serve(site, sub_path="veille/") as base:
        page = browser.new_page()
        page.clock.set_fixed_time(datetime(today.year, today.month, today.day, 12))
        page.goto(base + "recherche/index.html")
        assert page.inner_text(COUNT).startswith("Saisissez")
        assert page.input_value("#q") == ""
        # A change marks the results busy at once (in the same task as the click).
        busy = page.evaluate(
            "() => { document.querySelector('#ouverts').click();"
            " return document.querySelector('#resultats').getAttribute('aria-busy'); }"
        )
        assert busy == "true"
        page.fill("#avant", before.isoformat())
        page.select_option("#tri", "echeance")
        wait_for_results(page)
        titles = page.locator(LINK).all_inner_texts()
        assert any(expected in t for t in titles), titles
        for title in absent:
            assert not any(title in t for t in titles), (title, titles)
        deadlines = [french_day(t) for t in page.locator(f"{RESULT} .deadline").all_inner_texts()]
        assert len(deadlines) == len(titles)
        assert deadlines == sorted(deadlines), deadlines  # nearest first
        assert all(today <= d <= before for d in deadlines), deadlines
        assert "ouverts=1" in page.url and f"avant={before.isoformat()}" in page.url
        page.locator(LINK, has_text=expected).first.click()
        page.wait_for_load_state()
        assert "/veille/items/" in page.url and expected in page.inner_text("h1")
        page.close()
        return deadlines


def test_search_finds_an_item_by_a_word_of_its_text(built) -> None:  # noqa: ANN001
    check_search(
        built["site"],
        UNIQUE_WORD,
        "Décret relatif à la réutilisation des eaux usées traitées",
    )


def test_search_reads_the_full_text_not_only_the_summary(built) -> None:  # noqa: ANN001
    # "SECRETE" is in the text only, after the summary's sentences: never on a page.
    check_search(built["site"], "secrete", "Appel à projets chaleur fatale Grand Est")


def test_theme_filter_narrows_results(built) -> None:  # noqa: ANN001
    check_theme_filter(built["site"], "chaleur", "Énergie")


def test_bulletin_page_links_to_its_items(built) -> None:  # noqa: ANN001
    check_bulletin_links(built["site"], WEEK)


def test_open_call_found_by_the_deadline_filter_with_an_empty_query(built) -> None:  # noqa: ANN001
    deadlines = check_open_calls(
        built["site"],
        TODAY,
        date(2026, 12, 10),
        expected="AMI réemploi des matériaux du BTP",  # closes on 3 December
        absent=["Appel à projets chaleur fatale", "Appel clos sur les biodéchets"],
    )
    assert date(2026, 12, 3) in deadlines


def test_filters_alone_sort_by_date_across_bundles(built) -> None:  # noqa: ANN001
    def check(browser: Any) -> None:
        with serve(built["site"]) as base:
            page = browser.new_page()
            page.goto(base + "recherche/index.html?type=appel_a_projets")
            total = result_count(page)
            # The first results show at once, the rest of the page follows: 20 in all.
            page.wait_for_function(f"() => document.querySelectorAll({RESULT!r}).length >= 20")
            assert total > page.locator(RESULT).count() == 20
            while page.locator(RESULT).count() < total:
                shown = page.locator(RESULT).count()
                page.click("#resultats .more")
                page.wait_for_function(
                    f"(n) => document.querySelectorAll({RESULT!r}).length > n", arg=shown
                )
            assert page.is_hidden("#resultats .more")
            metas = page.locator(f"{RESULT} .meta").all_inner_texts()
            assert all(m.startswith("Appels à projets") for m in metas)
            days = [french_day(m) for m in metas]
            assert days == sorted(days, reverse=True), days  # newest first
            # Items of both bundles (2026-t4, 2026-t3), merged in one order.
            assert days[0] >= date(2026, 10, 1) > date(2026, 9, 30) >= days[-1]
            page.close()

    run_with_chromium(check)


def test_hostile_text_stays_inert_in_search_results(built) -> None:  # noqa: ANN001
    def check(browser: Any) -> None:
        with serve(built["site"]) as base:
            page = browser.new_page()
            dialogs: list[str] = []
            page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
            page.goto(base + "recherche/index.html?q=piégé")
            page.wait_for_selector(RESULT, timeout=15000)
            assert "Appel piégé" in page.inner_text("#resultats")
            for tag in ("img", "iframe", "script", "style", "a[href^='javascript']"):
                assert page.locator(f"#resultats .results {tag}").count() == 0, tag
            page.wait_for_timeout(300)
            assert dialogs == []
            page.close()

    run_with_chromium(check)


def test_every_page_of_the_site_fits_a_phone(built) -> None:  # noqa: ANN001
    """At 390 px no page is wider than the screen (the feeds table of « S'abonner »
    was 529 px: its file names now break)."""
    site = Path(built["site"])
    every = sorted(str(p.relative_to(site)) for p in site.rglob("*.html"))
    by_folder: dict[str, list[str]] = {}
    for rel in every:  # a few pages of each kind (items, themes, bulletins, months…)
        by_folder.setdefault(rel.split("/")[0], []).append(rel)
    pages = [rel for group in by_folder.values() for rel in group[:4]]
    assert "abonnements/index.html" in pages and len(by_folder) >= 8

    def widths(browser: Any) -> list[tuple[str, int]]:
        with serve(site) as base:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            wide = []
            for rel in pages:
                page.goto(base + rel)
                over = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if over > 0:
                    wide.append((rel, over))
            return wide

    assert run_with_chromium(widths) == []


def test_a_word_longer_than_the_screen_breaks_on_a_phone(seeded) -> None:  # noqa: ANN001
    """A title, summary or link of one 300-letter word, and a search for it, stay within
    390 px (they widened the item page, the lists and the search results to 2,000 px+)."""
    from tests.publish import factory
    from watcher.publish.site import build_site
    from watcher.store.bulletins import load_items

    store, _, settings = seeded
    word = "Anticonstitutionnellement" * 12
    item = factory.add_item(
        store,
        title=f"Titre {word}",
        summary=f"Résumé {word}",
        url="https://example.org/" + "x" * 400,
        first_seen=datetime(2026, 11, 24, 10, tzinfo=UTC),
        labels=factory.labels("actualite", ["eau"]),
        score=0.95,
    )
    build_site(store, settings, today=TODAY)
    uid = load_items(store, ids=[item])[0]["uid"]
    pages = [
        f"items/{path.parent.name}/{uid}.html"
        for path in settings.publish.site_dir.glob(f"items/*/{uid}.html")
    ]
    pages += ["index.html", "themes/eau/index.html", f"recherche/index.html?q={word}"]

    def widths(browser: Any) -> list[tuple[str, int]]:
        with serve(settings.publish.site_dir) as base:
            page = browser.new_page(viewport={"width": 390, "height": 844})
            wide = []
            for rel in pages:
                page.goto(base + rel)
                if rel.startswith("recherche"):
                    wait_for_results(page)
                    assert word in page.inner_text("#resultats")
                over = page.evaluate("document.documentElement.scrollWidth - window.innerWidth")
                if over > 0:
                    wide.append((rel, over))
            return wide

    assert len(pages) == 4
    assert run_with_chromium(widths) == []


def test_address_parameters_the_form_cannot_show_are_dropped(built) -> None:  # noqa: ANN001
    """?avant=garbage, ?theme=nope, a year with no item or a repeated theme were
    applied unseen ("Aucun résultat", "Filtres et tri (4 actifs)" with nothing ticked):
    the search follows what the form shows, and so does the address."""

    def check(browser: Any) -> list[tuple[str, int, str, str]]:
        with serve(built["site"], sub_path="veille/") as base:
            page = browser.new_page()
            seen = []
            for query in (
                "q=chaleur",
                "q=chaleur&avant=garbage&theme=nope&annee=1999&tri=nope&portee=nope",
                "q=chaleur&avant=2026-13-45&type=nope#resultats",
                "q=chaleur&theme=energie&theme=energie",
            ):
                page.goto(base + "recherche/index.html?" + query)
                count = wait_for_results(page)
                seen.append((query, count, page.inner_text("summary"), page.url.split("?")[1]))
            return seen

    plain, garbage, bad_date, twice = run_with_chromium(check)
    assert plain[1] > 0
    assert garbage[1:] == plain[1:]  # same results, no active filter, a clean address
    assert bad_date[1:3] == plain[1:3] and bad_date[3] == "q=chaleur#resultats"
    assert twice[2] == "Filtres et tri (1 actif)" and twice[3] == "q=chaleur&theme=energie"


def test_search_page_without_javascript_says_so_first(built) -> None:  # noqa: ANN001
    """Without JavaScript the header's box landed on a form that did nothing, « Saisissez
    un mot » under it, the note two screens down: now the note and its links come first
    and the dead form is hidden; with JavaScript the form shows and the note does not."""

    def check(browser: Any) -> dict[bool, tuple[bool, bool, float]]:
        seen = {}
        with serve(built["site"]) as base:
            for js in (False, True):
                context = browser.new_context(
                    java_script_enabled=js, viewport={"width": 390, "height": 844}
                )
                page = context.new_page()
                page.goto(base + "recherche/index.html?q=chaleur")
                note = page.locator(".no-search")
                top = note.bounding_box()["y"] if note.is_visible() else -1.0
                seen[js] = (page.is_visible("#q"), page.is_visible("#resultats"), top)
                if top > 0:  # its links lead on from any sub-path
                    note.get_by_role("link", name="calendrier").click()
                    page.wait_for_load_state()
                    assert page.url.endswith("/calendrier/index.html")
                context.close()
        return seen

    seen = run_with_chromium(check)
    assert seen[True] == (True, True, -1.0)
    form, results, top = seen[False]
    assert not form and not results and 0 < top < 844
