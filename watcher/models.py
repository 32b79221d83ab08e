"""The shared vocabulary: plain data passed between stages.

Stages take and give these dataclasses (or dicts of plain values); none of
them carries a database connection or an HTTP response.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, Literal

SourceStatus = Literal["ok", "not_modified", "failed", "skipped"]


@dataclass
class CollectedItem:
    """One item as the collect stage found it, before it is stored."""

    source_id: str
    url: str  # as found; the store canonicalises it
    title: str
    summary: str = ""
    text: str = ""
    language: str | None = None
    published: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)  # structured fields: deadline, nor, nature…
    raw_body: bytes | None = None
    content_type: str | None = None
    complete: bool = True  # False while the article page is still to be fetched


def _moment(value: str) -> date | datetime:
    """ "2027-03-12" → a date (all day), "2027-03-12T09:30" → a naive Paris wall-clock time."""
    value = value.strip()
    try:
        if "T" not in value and " " not in value:
            return date.fromisoformat(value)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError("not an ISO date (2027-03-12) or date-time (2027-03-12T09:30)") from None
    if moment.tzinfo is not None:
        raise ValueError("event times are naive Europe/Paris wall-clock times, without offset")
    return moment.replace(second=0, microsecond=0)


def _moment_text(value: date | datetime) -> str:
    if isinstance(value, datetime):
        return value.strftime("%Y-%m-%dT%H:%M")
    return value.isoformat()


@dataclass
class EventInfo:
    """When and where an event or training takes place.

    A ``date`` is an all-day start or end; a ``datetime`` is a naive wall-clock
    time in Europe/Paris (what the text says, never converted to UTC).
    """

    start: date | datetime
    end: date | datetime | None = None
    place: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "start": _moment_text(self.start),
            "end": _moment_text(self.end) if self.end is not None else None,
            "place": self.place or None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> EventInfo:
        """From ``to_dict()``'s shape; ValueError naming the field when a value is wrong."""
        if not isinstance(data, dict):
            raise ValueError("event: expected an object with start, end, place")
        unknown = set(data) - {"start", "end", "place"}
        if unknown:
            raise ValueError(f"event: unknown fields {', '.join(sorted(unknown))}")

        def moment(key: str) -> date | datetime | None:
            value = data.get(key)
            if value is None or value == "":
                return None
            if isinstance(value, date):  # datetime is a date too
                return value
            if not isinstance(value, str):
                raise ValueError(f"event.{key}: expected an ISO date or date-time string")
            try:
                return _moment(value)
            except ValueError as exc:
                raise ValueError(f"event.{key}: {value!r}: {exc}") from exc

        start = moment("start")
        if start is None:
            raise ValueError("event.start is required")
        end = moment("end")
        if end is not None and _as_datetime(end) < _as_datetime(start):
            raise ValueError("event.end is before event.start")
        place = data.get("place")
        if place is not None and not isinstance(place, str):
            raise ValueError("event.place: expected a string")
        return cls(start=start, end=end, place=(place or "").strip() or None)


def _as_datetime(value: date | datetime) -> datetime:
    return value if isinstance(value, datetime) else datetime(value.year, value.month, value.day)


@dataclass
class StoredItem:
    """One item as the store keeps it (``watcher.store.items``), as the stages read it."""

    id: int
    uid: str
    url: str  # canonical
    title: str
    summary: str = ""
    text: str = ""
    language: str | None = None
    published: datetime | None = None
    first_seen: datetime | None = None
    last_seen: datetime | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    complete: bool = True  # False while the article page is still to be fetched
    sources: list[str] = field(default_factory=list)  # ids of the sources that carried it

    def label_record(self, hints: dict[str, Any] | None = None) -> dict[str, Any]:
        """What ``Classifier.label`` reads of the item (plus its sources' hints)."""
        record: dict[str, Any] = {
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "summary": self.summary,
            "url": self.url,
            "published": self.published,
        }
        if hints:
            record["hints"] = hints
        return record


@dataclass
class Labels:
    """The labels of LABELS.md, as `watcher label` writes them."""

    relevant: bool
    type: str | None = None
    themes: list[str] = field(default_factory=list)
    axes: list[str] = field(default_factory=list)
    scope: str | None = None
    deadline: date | None = None
    # Not one of LABELS.md's labels: `watcher label` writes it beside ``labels``.
    event: EventInfo | None = None

    def to_dict(self) -> dict[str, Any]:
        """LABELS.md's labels plus ``event`` (None or ``EventInfo.to_dict()``)."""
        return {
            "relevant": self.relevant,
            "type": self.type,
            "themes": list(self.themes),
            "axes": list(self.axes),
            "scope": self.scope,
            "deadline": self.deadline.isoformat() if self.deadline else None,
            "event": self.event.to_dict() if self.event else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Labels:
        deadline = data.get("deadline")
        event = data.get("event")
        return cls(
            relevant=bool(data.get("relevant")),
            type=data.get("type"),
            themes=list(data.get("themes") or []),
            axes=list(data.get("axes") or []),
            scope=data.get("scope"),
            deadline=date.fromisoformat(deadline) if isinstance(deadline, str) else deadline,
            event=EventInfo.from_dict(event) if isinstance(event, dict) else event,
        )


@dataclass
class SourceReport:
    """How one source fared in one run (report, don't raise)."""

    source_id: str
    status: SourceStatus
    http_status: int | None = None
    error_kind: str | None = None  # dns, timeout, http_404, http_5xx, malformed, too_large, robots…
    error_message: str | None = None
    duration_s: float = 0.0
    items_found: int = 0
    items_new: int = 0


@dataclass
class CrawlExit:
    """How a crawl's process ended."""

    returncode: int | None = 0
    timed_out: bool = False  # stopped at collect.crawl_time_limit_s
    stopped: bool = False  # asked to stop: Ctrl-C, or the scheduler stopping
    killed: bool = False  # it did not stop within the grace: SIGKILL
    duration_s: float = 0.0
    log_tail: str = ""  # the end of its log, when it failed


@dataclass
class RunReport:
    run_id: int
    started_at: datetime
    finished_at: datetime | None = None
    sources: list[SourceReport] = field(default_factory=list)
    status: str = "done"  # running | done | interrupted | killed
    exit: CrawlExit = field(default_factory=CrawlExit)  # set by run_collect

    @property
    def failed(self) -> list[SourceReport]:
        return [s for s in self.sources if s.status == "failed"]
