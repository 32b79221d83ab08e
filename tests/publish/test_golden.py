"""Golden output: one bulletin and one site page, rendered from the fixed store of
``tests/publish/conftest.py`` at its frozen date, compared byte for byte with
``tests/golden/``. A change of template or selection shows up as a reviewed diff.

Regenerate the goldens (then read ``git diff tests/golden``) with::

    make goldens
    # that is: .venv/bin/python -m pytest tests/publish/test_golden.py --update-goldens
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.publish.conftest import WEEK
from tests.shared import ROOT
from watcher.publish.bulletin import build_bulletin, render_email, render_web

GOLDEN = ROOT / "tests" / "golden"


def check(name: str, text: str, update: bool) -> None:
    path = GOLDEN / name
    if update:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
        return
    assert path.is_file(), f"{path} is missing: run `make goldens`"
    expected = path.read_text(encoding="utf-8")
    assert text == expected, f"{name} differs from its golden: run `make goldens`, review the diff"


@pytest.fixture
def update(request: pytest.FixtureRequest) -> bool:
    return bool(request.config.getoption("--update-goldens"))


def test_bulletin_matches_its_golden(built: dict[str, Any], update: bool) -> None:
    bulletin = build_bulletin(built["store"], WEEK, built["settings"])
    html, text = render_email(bulletin, built["settings"])
    check(f"bulletin-{WEEK}.txt", text, update)
    check(f"bulletin-{WEEK}.html", render_web(bulletin, built["settings"]), update)


def test_site_page_matches_its_golden(built: dict[str, Any], update: bool) -> None:
    page = Path(built["site"]) / "themes" / "eau" / "index.html"
    check("site-themes-eau.html", page.read_text(encoding="utf-8"), update)
