"""Pagefind: the in-browser search index, built at publish time.

Runs the bundled Pagefind binary (the `pagefind` package) over the item pages
only (`items/<quarter>/*.html`, whose `<main data-pagefind-body>` carries the filters
theme, type, scope and year); `lang="fr"` gives French stemming.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from watcher.exceptions import PublishError

BUNDLE = "pagefind"


def _index_one(site: Path, part: str, timeout_s: int) -> None:
    command = [
        sys.executable,
        "-m",
        "pagefind",
        "--site",
        str(site),
        "--output-subdir",
        f"{BUNDLE}/{part}",
        "--glob",
        f"items/{part}/*.html",
        "--silent",
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PublishError(f"pagefind could not index {site} ({part}): {exc}") from exc
    if result.returncode != 0:
        raise PublishError(
            f"pagefind failed on {site} ({part}, exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-800:]}",
            hint="is the `pagefind[extended]` package installed in this environment?",
        )


def run_pagefind(site: Path, partitions: list[str], timeout_s: int = 1800) -> float:
    """Index the item pages of each partition (`items/<part>/`) into
    `pagefind/<part>/`, two at a time; returns the seconds it took. The search
    page merges the partitions' indexes (Pagefind's `mergeIndex`), so adding
    items re-indexes only the current quarter."""
    started = time.perf_counter()
    workers = max(1, min(len(partitions), os.cpu_count() or 1, 4))
    with ThreadPoolExecutor(max_workers=workers) as pool:
        for future in [pool.submit(_index_one, site, p, timeout_s) for p in partitions]:
            future.result()
    return time.perf_counter() - started


def index_size(site: Path) -> tuple[int, int]:
    """(files, bytes) of the search bundle."""
    folder = site / BUNDLE
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    return len(files), sum(p.stat().st_size for p in files)
