"""Benchmark of the archive site: `python bench/site.py [--items 50000] [--searches-only SITE]`.

Builds the full site from a store of generated items over two years (about
100 bulletins, events and trainings with dates, calls with closing dates) and
prints, measured in the same run:

- the full build (wall time and CPU time of this process and its children,
  Pagefind included), then the rebuild after 200 new items, as a ratio of the
  full build (target: at most 0.20). The machine may be shared: the CPU ratio
  is the one that does not depend on what else runs;
- in headless Chromium, the first search: the time from the navigation to the
  search page (`recherche/index.html?q=<word>`, empty cache) to its first
  result on screen (target: at most 300 ms), with when the index was loaded
  and when Pagefind answered (the page's `performance.mark`s), beside the load
  of a plain page of the site in the same browser as a reference for the
  machine's speed; then another word typed into that page's box;
- a filter-only search (open calls, deadline before a date, no word).

The site is served by a threaded Python server over HTTP/1.1 with keep-alive,
as a static file server would (one connection per file made the first search
slower by about 0.1 s).
"""

from __future__ import annotations

import argparse
import os
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.publish import factory  # noqa: E402
from tests.publish.browser import serve  # noqa: E402
from tests.shared import launch_chromium  # noqa: E402
from watcher.base.clock import paris_today  # noqa: E402
from watcher.publish.site import SiteReport, build_site  # noqa: E402
from watcher.settings import Settings  # noqa: E402
from watcher.store import Store  # noqa: E402

QUERIES = ["chaleur", "méthanisation", "friche", "hydrogène", "recyclage"]
RESULT = "#resultats .result"

# Records when the first result appears, from the very start of the page.
FIRST_RESULT = """
window.__firstResult = null;
new MutationObserver((changes, observer) => {
  if (document.querySelector('#resultats .result')) {
    window.__firstResult = performance.now(); observer.disconnect(); }
}).observe(document, {childList: true, subtree: true});
"""


def cpu_seconds() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def timed_build(store: Store, settings: Settings, today) -> tuple[SiteReport, float]:  # noqa: ANN001
    before = cpu_seconds()
    report = build_site(store, settings, today=today)
    return report, cpu_seconds() - before


# Typed into the search box of a page whose first search is done: the time from the
# input event (the form waits 150 ms for the typing to settle) to the first result
# for the new word.
TYPED = """async (word) => {
  const box = document.querySelector('#resultats');
  const shown = () => box.querySelector('.count').textContent.includes(word)
    && box.querySelector('.result') !== null;
  const q = document.getElementById('q');
  const start = performance.now();
  q.value = word;
  q.dispatchEvent(new Event('input', {bubbles: true}));
  await new Promise((resolve) => {
    const observer = new MutationObserver(() => {
      if (shown()) { observer.disconnect(); resolve(); }
    });
    observer.observe(box, {childList: true, subtree: true, characterData: true});
  });
  return performance.now() - start;
}"""


def _mark(page: Any, name: str) -> float:
    return page.evaluate(f"performance.getEntriesByName('{name}')[0]?.startTime ?? -1")


def first_searches(site: Path) -> dict[str, Any]:
    """The searches, in lists of milliseconds: "first" (navigation start to the first
    result), "from_dom" (the same from DOMContentLoaded), "ready" (navigation start to
    the index loaded), "answered" (to Pagefind's answer, before the results' texts
    are fetched), "next" (a word typed after the first search), "plain" (a plain
    page's load); "filtered" and "found" for the filter-only search."""
    from playwright.sync_api import sync_playwright

    out: dict[str, Any] = {
        k: [] for k in ("first", "from_dom", "ready", "answered", "next", "plain")
    }
    with serve(site, keep_alive=True) as base, sync_playwright() as p:
        browser = launch_chromium(p)
        for n, query in enumerate(QUERIES):
            context = browser.new_context()  # an empty cache, as a first visit
            page = context.new_page()
            page.add_init_script(FIRST_RESULT)
            page.goto(base + f"recherche/index.html?q={query}")
            page.wait_for_function("window.__firstResult !== null", timeout=60000)
            out["first"].append(page.evaluate("window.__firstResult"))
            out["from_dom"].append(
                page.evaluate(
                    "window.__firstResult - "
                    "performance.getEntriesByType('navigation')[0].domContentLoadedEventEnd"
                )
            )
            out["ready"].append(_mark(page, "search-index-ready"))
            out["answered"].append(_mark(page, "search-answered"))
            out["next"].append(page.evaluate(TYPED, QUERIES[(n + 1) % len(QUERIES)]))
            context.close()
            context = browser.new_context()
            page = context.new_page()
            page.goto(base + "appels/index.html")
            out["plain"].append(
                page.evaluate("performance.getEntriesByType('navigation')[0].loadEventEnd")
            )
            context.close()
        context = browser.new_context()
        page = context.new_page()
        page.add_init_script(FIRST_RESULT)
        until = (datetime.now(UTC) + timedelta(days=30)).date().isoformat()
        page.goto(base + f"recherche/index.html?ouverts=1&avant={until}&tri=echeance")
        page.wait_for_function("window.__firstResult !== null", timeout=60000)
        out["filtered"] = page.evaluate("window.__firstResult")
        out["found"] = page.locator(RESULT).count()
        context.close()
        browser.close()
    return out


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--workdir", type=Path, default=None)
    parser.add_argument(
        "--searches-only",
        type=Path,
        default=None,
        metavar="SITE",
        help="measure only the searches, on a site an earlier run built",
    )
    args = parser.parse_args()
    if args.searches_only:
        print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")
        print_searches(args.searches_only)
        return
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-site-"))
    store = Store(work / "watcher.db")
    settings = Settings()
    settings.publish.output_dir = work / "output"
    settings.publish.site_dir = work / "output" / "site"
    now = datetime.now(UTC)
    start = now - timedelta(days=730)
    print(f"machine: {os.cpu_count()} cores, load average {os.getloadavg()[0]:.1f}")

    t = time.perf_counter()
    factory.add_items(store, factory.generated_specs(args.items, start, now - timedelta(hours=1)))
    factory.add_runs(store, now - timedelta(hours=2))
    print(f"store: {args.items} items generated in {time.perf_counter() - t:.1f}s ({work})")

    today = paris_today()
    full, full_cpu = timed_build(store, settings, today)
    print(f"full build: {full.duration_s:.1f}s wall, {full_cpu:.1f}s CPU  ({full.summary()})")
    print(f"index size: {full.index_bytes / 1e6:.1f} MB in {full.index_files} files")

    specs = factory.generated_specs(200, now - timedelta(minutes=50), now, seed=99)
    for n, spec in enumerate(specs):
        spec["url"] = f"https://example.org/new/{n}"
    factory.add_items(store, specs)
    again, again_cpu = timed_build(store, settings, today)
    print(
        f"rebuild after 200 new items: {again.duration_s:.1f}s wall = "
        f"{again.duration_s / full.duration_s:.2f} of the full build; {again_cpu:.1f}s CPU = "
        f"{again_cpu / full_cpu:.2f} of the full build (target <= 0.20) "
        f"[{again.written} written, {again.unchanged} unchanged; "
        f"search bundles rebuilt: {', '.join(again.bundles_indexed) or 'none'} "
        f"in {again.pagefind_s:.1f}s]"
    )
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    child = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    print(f"peak memory: {own:.0f} MB (python), {child:.0f} MB (largest child: pagefind)")

    print_searches(settings.publish.site_dir)


def print_searches(site: Path) -> None:
    got = first_searches(site)

    def med(name: str) -> str:
        return f"{statistics.median(got[name]):.0f} ms"

    print(
        "searches: Chromium headless (Debian's), a new browser context (empty cache) per "
        "page; the site served on 127.0.0.1 by a threaded Python server over HTTP/1.1 "
        "with keep-alive, as a static file server serves it (not the one connection "
        "per file of HTTP/1.0)"
    )
    print(
        "first search = from the navigation start of recherche/index.html?q=<word> "
        "(the header's box lands there) to the first result on screen: "
        + ", ".join(f"{q}={ms:.0f}" for q, ms in zip(QUERIES, got["first"], strict=True))
        + f"; median {med('first')} (target <= 300); from the page's DOMContentLoaded: "
        f"median {med('from_dom')}; of which index loaded (pagefind.js, WebAssembly, "
        f"every bundle's metadata) at median {med('ready')}, Pagefind's answer at "
        f"median {med('answered')} from the navigation start"
    )
    print(
        "next search (another word typed in the box of that page, from the input event, "
        f"150 ms wait for the typing to settle included): median {med('next')}; "
        f"plain page load (appels/index.html, load event) in the same browser: "
        f"median {med('plain')}"
    )
    print(
        f"filter-only search (open calls, deadline within 30 days), navigation start to "
        f"first result: {got['filtered']:.0f} ms, {got['found']} shown"
    )


if __name__ == "__main__":
    main()
