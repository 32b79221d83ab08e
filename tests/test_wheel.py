"""The package installs and runs outside the checkout: build a wheel, install it
in a fresh virtual environment in a temporary folder, run `watcher demo` there.

The wheel is built offline (``--no-build-isolation``: the build backend comes
from the dev environment). The new environment sees the dev environment's
third-party libraries through a ``.pth`` line, so nothing is downloaded; that
line adds a plain folder, whose own ``.pth`` files (the editable install of the
checkout) are not run, so ``watcher`` itself can only come from the wheel. The
test checks that it does, and that templates and taxonomy are its package data.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
import sysconfig
import venv
import zipfile
from pathlib import Path

import pytest

from tests.shared import ROOT

pytestmark = pytest.mark.slow

PROBE = """
import json, watcher
from watcher.base.resources import BUNDLED_CLASSIFIERS, BUNDLED_TEMPLATES
from watcher.base.taxonomy import taxonomy_for
print(json.dumps({
    "package": watcher.__file__,
    "templates": str(BUNDLED_TEMPLATES),
    "classifiers": str(BUNDLED_CLASSIFIERS),
    "eau": taxonomy_for().name("themes", "eau"),
    "bulletin_template": (BUNDLED_TEMPLATES / "bulletin" / "email.html").is_file(),
}))
"""


def _copy_source(target: Path) -> Path:
    """The checkout without its environment, outputs and caches (the build writes there)."""
    ignore = shutil.ignore_patterns(
        ".venv", ".git", "output", "build", "dist", "*.egg-info", "__pycache__", ".*cache"
    )
    shutil.copytree(ROOT, target, ignore=ignore)
    return target


def _build_wheel(source: Path, dist: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "--no-index"]
        + ["--quiet", "--wheel-dir", str(dist), str(source)],
        check=True,
        capture_output=True,
        text=True,
    )
    (wheel,) = dist.glob("watcher-*.whl")
    return wheel


def _fresh_env(folder: Path) -> Path:
    """A venv without pip whose only link to the dev environment is a .pth line."""
    venv.EnvBuilder(with_pip=False).create(folder)
    python = folder / "bin" / "python"
    site = subprocess.run(
        [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    Path(site, "dev-libraries.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def _clean_env(home: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTHON", "WATCHER_"))}
    env["HOME"] = str(home)
    return env


def test_the_wheel_runs_the_demo_outside_the_checkout(tmp_path: Path, request) -> None:  # noqa: ANN001
    dist = tmp_path / "dist"
    wheel = _build_wheel(_copy_source(tmp_path / "source"), dist)
    names = zipfile.ZipFile(wheel).namelist()
    for resource in (
        "watcher/templates/bulletin/email.html",
        "watcher/templates/site/assets/search.js",
        "watcher/templates/desk/static/desk.css",
        "watcher/classifiers/taxonomy.yaml",
        "watcher/classifiers/lexicons.yaml",
        "watcher/demo/data/agence.yaml",
    ):
        assert resource in names, f"{resource} is not in the wheel"
    assert any(n.startswith("watcher/classifiers/training/") for n in names)
    metadata = next(n for n in names if n.endswith(".dist-info/METADATA"))
    assert "License-Expression: MIT" in zipfile.ZipFile(wheel).read(metadata).decode()

    env_dir = tmp_path / "env"
    python = _fresh_env(env_dir)
    subprocess.run(
        [sys.executable, "-m", "pip", "--python", str(python), "install", "--quiet"]
        + ["--no-deps", "--no-index", str(wheel)],
        check=True,
        capture_output=True,
        text=True,
    )
    shutil.rmtree(tmp_path / "source")  # nothing of the copy may be used from here on

    work = tmp_path / "elsewhere"
    work.mkdir()
    env = _clean_env(work)
    probe = subprocess.run(
        [str(python), "-c", PROBE], cwd=work, env=env, check=True, capture_output=True, text=True
    )
    found = json.loads(probe.stdout)
    installed = env_dir.resolve()
    for key in ("package", "templates", "classifiers"):
        assert Path(found[key]).resolve().is_relative_to(installed), (key, found[key])
        assert not Path(found[key]).resolve().is_relative_to(ROOT), (key, found[key])
    assert found["eau"] == "Eau" and found["bulletin_template"] is True

    # The demo trains its model on the first run; a model trained from the same
    # package data is reused from pytest's cache (the classifier checks its hash).
    out = work / "demo"
    cache = request.config.cache.mkdir("watcher-wheel-demo-model") if request.config.cache else None
    if cache and (cache / "model.json").exists():
        shutil.copytree(cache, out / "model")
    demo = subprocess.run(
        [str(env_dir / "bin" / "watcher"), "demo", "--output", str(out)],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    print(demo.stdout)  # shown with -rP: the steps and their times
    assert demo.returncode == 0, demo.stdout + demo.stderr
    if cache:
        shutil.copytree(out / "model", cache, dirs_exist_ok=True)
    week = re.search(r"week (\d{4}-W\d{2})\)", demo.stdout)[1]
    assert (out / "site" / "index.html").is_file()
    assert (out / "bulletins" / week / "email.html").is_file(), demo.stdout
    assert "Appels à projets" in (out / "bulletins" / week / "index.html").read_text()
    assert list((out / "mail" / week).glob("*.eml")), demo.stdout
