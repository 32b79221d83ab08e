"""Benchmark of the archive site: `python bench/site.py [--items 50000]`.

Builds the full site from a store of generated items over two years (about
100 bulletins) and prints: full build time, Pagefind indexing time and index
size, rebuild time after 200 new items (target: at most 0.2 of the full
build), peak memory; then, in headless Chromium, the time from typing a query
to the first results (target: under 300 ms).
"""

from __future__ import annotations

import argparse
import resource
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.publish import factory  # noqa: E402
from tests.publish.browser import serve  # noqa: E402
from tests.shared import launch_chromium  # noqa: E402
from watcher.base.clock import paris_today  # noqa: E402
from watcher.publish.site import build_site  # noqa: E402
from watcher.settings import Settings  # noqa: E402
from watcher.store import Store  # noqa: E402

QUERIES = ["chaleur", "méthanisation", "friche", "hydrogène", "recyclage"]


def peak_mb() -> tuple[float, float]:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    children = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return own, children


def search_latency(site: Path) -> list[float]:
    from playwright.sync_api import sync_playwright

    timings = []
    with serve(site) as base, sync_playwright() as p:
        browser = launch_chromium(p)
        page = browser.new_page()
        page.goto(base + "recherche/index.html")
        page.wait_for_selector(".pagefind-ui__search-input")
        for query in QUERIES:
            page.fill(".pagefind-ui__search-input", "")
            page.wait_for_timeout(300)
            page.evaluate(
                """() => { window.__t1 = null;
                const target = document.querySelector('.pagefind-ui__results-area') || document.body;
                window.__obs && window.__obs.disconnect();
                window.__obs = new MutationObserver(() => {
                  if (!window.__t1 && document.querySelector('.pagefind-ui__result')) {
                    window.__t1 = performance.now(); } });
                window.__obs.observe(document.body, {childList: true, subtree: true}); }"""
            )
            page.evaluate(
                """(q) => { const input = document.querySelector('.pagefind-ui__search-input');
                window.__t0 = performance.now(); input.value = q;
                input.dispatchEvent(new Event('input', {bubbles: true})); }""",
                query,
            )
            page.wait_for_function("window.__t1 !== null", timeout=30000)
            timings.append(page.evaluate("window.__t1 - window.__t0"))
        browser.close()
    return timings


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--items", type=int, default=50_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args()
    work = args.workdir or Path(tempfile.mkdtemp(prefix="bench-site-"))
    store = Store(work / "watcher.db")
    settings = Settings()
    settings.publish.output_dir = work / "output"
    settings.publish.site_dir = work / "output" / "site"
    now = datetime.now(UTC)
    start = now - timedelta(days=730)

    t = time.perf_counter()
    factory.add_items(store, factory.generated_specs(args.items, start, now - timedelta(hours=1)))
    factory.add_runs(store, now - timedelta(hours=2))
    print(f"store: {args.items} items generated in {time.perf_counter() - t:.1f}s ({work})")

    today = paris_today()
    full = build_site(store, settings, today=today)
    print(f"full build: {full.duration_s:.1f}s  ({full.summary()})")
    print(f"pagefind indexing: {full.pagefind_s:.1f}s")
    print(f"index size: {full.index_bytes / 1e6:.1f} MB in {full.index_files} files")

    specs = factory.generated_specs(200, now - timedelta(minutes=50), now, seed=99)
    for n, spec in enumerate(specs):
        spec["url"] = f"https://example.org/new/{n}"
    factory.add_items(store, specs)
    again = build_site(store, settings, today=today)
    ratio = again.duration_s / full.duration_s
    print(
        f"rebuild after 200 new items: {again.duration_s:.1f}s = {ratio:.2f} of the full build "
        f"(target <= 0.20) [{again.written} written, {again.unchanged} unchanged, "
        f"pagefind {again.pagefind_s:.1f}s]"
    )
    own, children = peak_mb()
    print(f"peak memory: {own:.0f} MB (python), {children:.0f} MB (largest child: pagefind)")

    timings = search_latency(settings.publish.site_dir)
    print(
        "search, typing to first results (ms): "
        + ", ".join(f"{q}={ms:.0f}" for q, ms in zip(QUERIES, timings, strict=True))
        + f"; first {timings[0]:.0f} ms, median {statistics.median(timings):.0f} ms (target < 300)"
    )


if __name__ == "__main__":
    main()
