"""Untrusted values made safe to keep and to write: dates in a sane range, text
without control characters.

Collect applies these once to every item before it is stored
(``watcher.collect.normalize``); publish applies them again on output, because
items stored by older versions were never cleaned and one bad value must not
take a whole site build down.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from watcher.base.clock import PARIS, utcnow

# No item we watch predates 1900; a date further ahead than a few years is a
# placeholder (9999-12-31) or a typo, never a real publication date.
EARLIEST = datetime(1900, 1, 1, tzinfo=UTC)
FUTURE_SLACK = timedelta(days=5 * 366)

# C0 controls but tab, newline and carriage return, DEL and the C1 block: no
# meaning in a title or a text, and XML (Atom, iCal readers) refuses most of them.
_CONTROLS = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# What XML 1.0 refuses besides the controls: lone surrogates and U+FFFE/U+FFFF.
_NOT_XML = re.compile(r"[\ud800-\udfff\ufffe\uffff]")
# Bidi embeddings/overrides/isolates and zero-width characters: invisible, and
# enough to make a title read differently from what it says (spoofing).
_INVISIBLE = re.compile(r"[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]")
_SPACES = re.compile(r"\s+")


def sane_moment(value: datetime | None, now: datetime | None = None) -> datetime | None:
    """`value` as an aware datetime (naive: UTC), or None when it is before 1900,
    more than FUTURE_SLACK after `now`, or cannot be converted to UTC or Paris
    time without leaving datetime's range (0001-01-01T00:00+14:00)."""
    if not isinstance(value, datetime):
        return None
    moment = value if value.tzinfo else value.replace(tzinfo=UTC)
    try:
        # Both conversions the stages make: to UTC (the store) and to Paris (pages).
        moment.astimezone(UTC)
        moment.astimezone(PARIS)
    except (OverflowError, ValueError):
        return None
    latest = (now or utcnow()) + FUTURE_SLACK
    if not EARLIEST <= moment <= latest:
        return None
    return moment


def clean_text(value: str | None, *, keep_lines: bool = False) -> str:
    """`value` without control characters, lone surrogates or invisible bidi and
    zero-width characters. With `keep_lines` (a text's paragraphs) whitespace is
    left as it is; otherwise (a title, a summary) it is collapsed to single
    spaces, so "Un \\x01 titre" does not become "Un  titre"."""
    if not value:
        return ""
    text = _NOT_XML.sub("", _CONTROLS.sub("", _INVISIBLE.sub("", str(value))))
    return text if keep_lines else _SPACES.sub(" ", text).strip()
