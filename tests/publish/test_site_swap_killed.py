"""A build killed during its swap: the next one finds a whole site, and no folder
of the killed build is left beside it."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from watcher.publish.writer import MANIFEST, SiteWriter

# The child builds a site whose folders `a/` and `b/` are unchanged (so the commit
# moves them from the previous build) and `c/index.html` changed, then kills
# itself at the N-th call of os.rename, os.replace or shutil.rmtree made by the commit.
CHILD = r"""
import os, shutil, signal, sys
from pathlib import Path
from watcher.publish import writer

target, kill_at, version = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
site = writer.SiteWriter(target)
for folder in ("a", "b"):
    site.write(f"{folder}/index.html", f"<p>{folder}</p>")
    site.write(f"{folder}/more.html", f"<p>{folder} more</p>")
site.write("c/index.html", f"<p>{version}</p>")
calls = 0
def killing(real):
    def call(*args, **kwargs):
        global calls
        calls += 1
        if calls == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        return real(*args, **kwargs)
    return call
os.rename, os.replace = killing(os.rename), killing(os.replace)
shutil.rmtree = killing(shutil.rmtree)
site.commit()
"""


def _build(target: Path, kill_at: int, version: str) -> int:
    done = subprocess.run(
        [sys.executable, "-c", CHILD, str(target), str(kill_at), version], timeout=60
    )
    return done.returncode


def _whole(target: Path) -> dict[str, str]:
    manifest = json.loads((target / MANIFEST).read_text("utf-8"))
    return {rel: (target / rel).read_text("utf-8") for rel in manifest}


# The commit's steps: a/ and b/ moved in, the previous site set aside, the new one
# swapped in, the previous one removed.
@pytest.mark.parametrize("kill_at", [1, 2, 3, 4, 5])
def test_a_build_killed_at_any_rename_of_its_swap_leaves_a_whole_site(tmp_path, kill_at) -> None:  # noqa: ANN001
    target = tmp_path / "site"
    assert _build(target, 0, "v1") == 0
    assert _whole(target)["c/index.html"] == "<p>v1</p>"

    assert _build(target, kill_at, "v2") == -9
    SiteWriter(target).abort()  # what the next build does first: recover
    pages = _whole(target)  # every page of the manifest is there
    assert pages["a/index.html"] == "<p>a</p>" and pages["b/more.html"] == "<p>b more</p>"
    assert pages["c/index.html"] in ("<p>v1</p>", "<p>v2</p>")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]  # nothing left beside it
    assert not (target / ".watcher-moved").exists()

    assert _build(target, 0, "v3") == 0
    assert _whole(target)["c/index.html"] == "<p>v3</p>"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["site"]


def test_search_staging_left_by_older_versions_goes_once_a_day_old(tmp_path) -> None:  # noqa: ANN001
    """Older versions staged the search pages in ``.search-<random>`` beside the
    site: no pid in the name, so only a folder nothing touched for a day goes."""
    import os
    import time

    target = tmp_path / "site"
    day_ago = time.time() - 25 * 3600

    def staged(name: str, *, age: float) -> Path:
        folder = tmp_path / name
        page = folder / "2026-11" / "items" / "x.html"
        page.parent.mkdir(parents=True)
        page.write_text("<p>x</p>")
        for path in (page, page.parent, page.parent.parent, folder):
            os.utime(path, (age, age))
        return folder

    old = staged(".search-k3j_9x2a", age=day_ago)
    in_use = staged(".search-ab12cd34", age=day_ago)
    os.utime(in_use / "2026-11" / "items" / "x.html")  # a build of an older version writes there
    recent = staged(".search-zz99yy88", age=time.time() - 3600)
    not_ours = staged(".search-cache", age=day_ago)  # not a name mkdtemp gives
    SiteWriter(target).abort()  # what a build does first
    assert not old.exists()
    assert in_use.exists() and recent.exists() and not_ours.exists()
