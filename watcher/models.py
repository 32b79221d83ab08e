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


@dataclass
class Labels:
    """The labels of LABELS.md, as `watcher label` writes them."""

    relevant: bool
    type: str | None = None
    themes: list[str] = field(default_factory=list)
    axes: list[str] = field(default_factory=list)
    scope: str | None = None
    deadline: date | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "relevant": self.relevant,
            "type": self.type,
            "themes": list(self.themes),
            "axes": list(self.axes),
            "scope": self.scope,
            "deadline": self.deadline.isoformat() if self.deadline else None,
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Labels:
        deadline = data.get("deadline")
        return cls(
            relevant=bool(data.get("relevant")),
            type=data.get("type"),
            themes=list(data.get("themes") or []),
            axes=list(data.get("axes") or []),
            scope=data.get("scope"),
            deadline=date.fromisoformat(deadline) if isinstance(deadline, str) else deadline,
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
class RunReport:
    run_id: int
    started_at: datetime
    finished_at: datetime | None = None
    sources: list[SourceReport] = field(default_factory=list)
    status: str = "done"  # running | done | interrupted | killed

    @property
    def failed(self) -> list[SourceReport]:
        return [s for s in self.sources if s.status == "failed"]
