"""The feed corpus is the spec: every file of ``tests/data/feeds/`` is read as
the collect stage reads a feed, and must give what its header expects.

Each file starts (after an XML declaration or a doctype) with a comment::

    <!--
    What: what the file is and why it is here.
    Expect:
      problem: null | <kind>     # the warning or failure reported for the source
      fatal: false | true        # true: the source fails, nothing is collected
      count: <items collected>
      items:                     # optional, in feed order; only the keys given
        - url: ...               # url, title, summary, text, published (ISO), extra
    -->

A bug report becomes a new file here.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest
import yaml

from tests.shared import DATA
from watcher.collect.kinds.feeds import read_feed

FEEDS = DATA / "feeds"
HEADER = re.compile(rb"<!--(.*?)-->", re.S)
DECLARED = re.compile(rb'<\?xml[^>]*encoding="([^"]+)"')


def header(path: Path) -> tuple[str, dict]:
    """(What, Expect) of a file's header: What is free text, Expect is YAML."""
    raw = path.read_bytes()
    match = HEADER.search(raw)
    assert match, f"{path.name}: no header comment"
    declared = DECLARED.match(raw)
    text = match[1].decode(declared[1].decode() if declared else "utf-8").strip()
    what, sep, expect = text.partition("\nExpect:")
    assert what.startswith("What:") and sep, f"{path.name}: the header needs What: and Expect:"
    return what.removeprefix("What:").strip(), yaml.safe_load(expect)


@pytest.mark.parametrize("path", sorted(FEEDS.iterdir()), ids=lambda p: p.name)
def test_feed_file_gives_what_its_header_expects(path: Path) -> None:
    what, expect = header(path)
    assert what, f"{path.name}: say what the file is"
    reading = read_feed("corpus", path.read_bytes(), url=f"https://example.org/{path.name}")
    assert (reading.problem[0] if reading.problem else None) == expect.get("problem")
    assert reading.fatal == expect.get("fatal", False)
    assert len(reading.items) == expect["count"]
    for item, wanted in zip(reading.items, expect.get("items", []), strict=False):
        for key, value in wanted.items():
            got = getattr(item, key)
            if key == "published":
                got = got.isoformat() if got else None
            assert got == value, f"{path.name}: {key}"


def test_the_corpus_is_there() -> None:
    assert len(list(FEEDS.iterdir())) >= 6
