"""Pagefind: the in-browser search index, built at publish time.

The index is not read from the site's pages (an item page never shows the
full text): each item is written as a small page of its own into a staging
folder — title, summary and the first ``publish.search_text_chars`` characters
of its text, with the filters theme, type, scope, year and closing date, the
sort keys date and deadline, and what a result shows (date, type, themes,
deadline, event) as metadata — and the Pagefind binary (the `pagefind`
package) indexes that folder under the URL of the item's real page.

Items are grouped in bundles by when they were first seen (`bundle_of`): one
per past year, one per past quarter of the current year, one per month of the
current quarter, so new items re-index one month only; a bundle is rebuilt only
when the key of its items changed. The search page searches every bundle
(`templates/site/assets/search.js`).
"""

from __future__ import annotations

import html
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from watcher.exceptions import PublishError

BUNDLE = "pagefind"
# Part of every bundle's key: raise it when what a record holds changes.
RECORD_VERSION = 4
# A word every record holds: a search by filters alone asks for it, because
# Pagefind's own filter-only search (no word) loads every chunk of the index.
EVERY_ITEM = "zzveilletout"


@dataclass
class SearchRecord:
    """What the index knows of an item (every text already plain, not yet escaped)."""

    path: str  # the item page, relative to the site root: items/2026-t4/<uid>.html
    title: str
    body: list[str]  # summary, text head
    filters: dict[str, list[str]] = field(default_factory=dict)
    sort: dict[str, str] = field(default_factory=dict)
    meta: dict[str, str] = field(default_factory=dict)


def bundle_of(day: date, today: date) -> str:
    """The index bundle of an item first seen on `day`: its year before the current
    year (`2025`), its quarter before the current quarter (`2026-t3`), else its
    month (`2026-11`). New items land in the current month's bundle, the smallest;
    at a new quarter (year) the months (quarters) of the last one merge into one
    bundle, indexed once then."""
    if day.year < today.year:
        return str(day.year)
    quarter = (day.month - 1) // 3 + 1
    if quarter < (today.month - 1) // 3 + 1:
        return f"{day.year}-t{quarter}"
    return f"{day.year}-{day.month:02d}"


def _last_month(bundle: str) -> tuple[int, int]:
    year, _, part = bundle.partition("-")
    if not part:
        return int(year), 12
    if part.startswith("t"):
        return int(year), int(part[1:]) * 3
    return int(year), int(part)


def bundle_order(bundles: Iterable[str]) -> list[str]:
    """Newest first (`2026-12`, `2026-11`, `2026-t3`, `2025`, …)."""
    return sorted(bundles, key=_last_month, reverse=True)


def _page(record: SearchRecord) -> str:
    esc = html.escape
    marks = [
        *(
            f'<span data-pagefind-filter="{esc(name)}">{esc(value)}</span>'
            for name, values in record.filters.items()
            for value in values
        ),
        *(
            f'<span data-pagefind-sort="{esc(name)}">{esc(value)}</span>'
            for name, value in record.sort.items()
        ),
        *(
            f'<span data-pagefind-meta="{esc(name)}">{esc(value)}</span>'
            for name, value in record.meta.items()
            if value
        ),
    ]
    body = "".join(f"<p>{esc(part)}</p>" for part in record.body if part)
    return (
        '<!DOCTYPE html><html lang="fr"><head><meta charset="utf-8">'
        f"<title>{esc(record.title)}</title></head><body>"
        f"<main data-pagefind-body><p>{EVERY_ITEM}</p>"
        f'<h1 data-pagefind-meta="title">{esc(record.title)}</h1>'
        f"{body}<div data-pagefind-ignore>{''.join(marks)}</div></main></body></html>"
    )


def _index_one(staging: Path, output: Path, timeout_s: int) -> None:
    command = [
        sys.executable,
        "-m",
        "pagefind",
        "--site",
        str(staging),
        "--output-path",
        str(output),
        "--silent",
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PublishError(f"pagefind could not index {output.name}: {exc}") from exc
    if result.returncode != 0:
        raise PublishError(
            f"pagefind failed on {output.name} (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-800:]}",
            hint="is the `pagefind[extended]` package installed in this environment?",
        )


def index_bundles(
    site: Path,
    bundles: dict[str, list[SearchRecord]],
    timeout_s: int = 1800,
    staging_dir: Path | None = None,
) -> float:
    """Index each bundle's records into `site/pagefind/<bundle>/`, two at a time;
    returns the seconds it took. The staging pages live in `staging_dir` (a folder
    the site build names, so that a killed build's is found and removed), else
    in a temporary folder beside `site`; either is removed afterwards."""
    started = time.perf_counter()
    if staging_dir is None:
        staging_root = Path(tempfile.mkdtemp(prefix=".search-", dir=site.parent))
    else:
        shutil.rmtree(staging_dir, ignore_errors=True)
        staging_dir.mkdir()
        staging_root = staging_dir
    try:
        jobs = []
        for bundle, records in bundles.items():
            staging = staging_root / bundle
            for record in records:
                page = staging / record.path
                page.parent.mkdir(parents=True, exist_ok=True)
                page.write_text(_page(record), encoding="utf-8")
            jobs.append((staging, site / BUNDLE / bundle))
        workers = max(1, min(len(jobs), os.cpu_count() or 1, 2))
        with ThreadPoolExecutor(max_workers=workers) as pool:
            for future in [pool.submit(_index_one, s, o, timeout_s) for s, o in jobs]:
                future.result()
    finally:
        shutil.rmtree(staging_root, ignore_errors=True)
    return time.perf_counter() - started


def bundle_facts(folder: Path) -> dict[str, Any]:
    """What the search page preloads of a bundle, and its size: {"meta": the
    language index's hash (``pagefind.<meta>.pf_meta``), "files", "bytes"}."""
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    entry = json.loads((folder / "pagefind-entry.json").read_text(encoding="utf-8"))
    meta = next(iter(entry["languages"].values()))["hash"]
    return {"meta": meta, "files": len(files), "bytes": sum(p.stat().st_size for p in files)}
