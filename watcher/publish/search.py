"""Pagefind: the in-browser search index, built at publish time.

Runs the bundled Pagefind binary (the `pagefind` package) over the item pages
only (`items/**/*.html`, whose `<main data-pagefind-body>` carries the filters
theme, type, scope and year); `lang="fr"` gives French stemming.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

from watcher.exceptions import PublishError

BUNDLE = "pagefind"
GLOB = "items/**/*.html"


def run_pagefind(site: Path, timeout_s: int = 1800) -> float:
    """Index `site` into `site/pagefind/`; returns the seconds it took."""
    started = time.perf_counter()
    command = [
        sys.executable,
        "-m",
        "pagefind",
        "--site",
        str(site),
        "--output-subdir",
        BUNDLE,
        "--glob",
        GLOB,
        "--silent",
    ]
    try:
        result = subprocess.run(command, capture_output=True, text=True, timeout=timeout_s)
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise PublishError(f"pagefind could not index {site}: {exc}") from exc
    if result.returncode != 0:
        raise PublishError(
            f"pagefind failed on {site} (exit {result.returncode}): "
            f"{(result.stderr or result.stdout).strip()[-800:]}",
            hint="is the `pagefind[extended]` package installed in this environment?",
        )
    return time.perf_counter() - started


def index_size(site: Path) -> tuple[int, int]:
    """(files, bytes) of the search bundle."""
    folder = site / BUNDLE
    files = [p for p in folder.rglob("*") if p.is_file()] if folder.is_dir() else []
    return len(files), sum(p.stat().st_size for p in files)
