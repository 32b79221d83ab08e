"""The bulletin as plain data: what every renderer (e-mail, web, site) reads.

A published bulletin is frozen as ``Bulletin.to_dict()`` in the store, so a
rebuild of the site shows exactly what went out.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field, fields
from datetime import date, datetime
from typing import Any

from watcher.models import EventInfo


@dataclass
class Entry:
    item_id: int
    uid: str
    title: str
    url: str
    type: str | None
    themes: list[str] = field(default_factory=list)
    scope: str | None = None
    sources: list[str] = field(default_factory=list)  # French-visible source names
    date: date | None = None  # the item's date (published, else first seen)
    summary: str = ""  # plain text, 2-3 sentences
    deadline: date | None = None
    days_left: int | None = None
    event: EventInfo | None = None  # an event's or a training's dates and place
    pinned: bool = False
    score: float = 0.0

    @property
    def event_date(self) -> date | None:
        """The day an event or a training starts."""
        if self.event is None:
            return None
        start = self.event.start
        return start.date() if isinstance(start, datetime) else start

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        for key in ("date", "deadline"):
            data[key] = data[key].isoformat() if data[key] else None
        data["event"] = self.event.to_dict() if self.event else None
        return data

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Entry:
        known = {f.name for f in fields(cls)}
        values = {k: v for k, v in data.items() if k in known}
        for key in ("date", "deadline"):
            if isinstance(values.get(key), str):
                values[key] = date.fromisoformat(values[key])
        if isinstance(values.get("event"), dict):
            values["event"] = EventInfo.from_dict(values["event"])
        elif data.get("event_date"):  # snapshots frozen before events had times and places
            values["event"] = EventInfo(start=date.fromisoformat(data["event_date"]))
        return cls(**values)


@dataclass
class Section:
    id: str  # "une" or a type id
    title: str
    entries: list[Entry] = field(default_factory=list)


@dataclass
class Bulletin:
    week: str
    title: str
    period: str  # "semaine 48 (du 23 novembre 2026 au 29 novembre 2026)"
    start: date
    end: date
    issue_date: date
    mode: str  # published | curated | automatic
    sections: list[Section] = field(default_factory=list)
    edition: int | None = None
    status: str = "draft"
    published_at: datetime | None = None
    theme: str | None = None  # set on a per-theme variant
    editorial: str = ""  # "le mot de l'équipe", Markdown subset (rendered sanitised)

    @property
    def entries(self) -> list[Entry]:
        return [e for s in self.sections for e in s.entries]

    @property
    def is_empty(self) -> bool:
        return not any(s.entries for s in self.sections)

    def to_dict(self) -> dict[str, Any]:
        return {
            "week": self.week,
            "title": self.title,
            "period": self.period,
            "start": self.start.isoformat(),
            "end": self.end.isoformat(),
            "issue_date": self.issue_date.isoformat(),
            "mode": self.mode,
            "edition": self.edition,
            "status": self.status,
            "published_at": self.published_at.isoformat() if self.published_at else None,
            "theme": self.theme,
            "editorial": self.editorial,
            "sections": [
                {"id": s.id, "title": s.title, "entries": [e.to_dict() for e in s.entries]}
                for s in self.sections
            ],
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Bulletin:
        published = data.get("published_at")
        return cls(
            week=data["week"],
            title=data["title"],
            period=data["period"],
            start=date.fromisoformat(data["start"]),
            end=date.fromisoformat(data["end"]),
            issue_date=date.fromisoformat(data["issue_date"]),
            mode=data.get("mode", "published"),
            edition=data.get("edition"),
            status=data.get("status", "published"),
            published_at=datetime.fromisoformat(published) if published else None,
            theme=data.get("theme"),
            editorial=data.get("editorial") or "",
            sections=[
                Section(s["id"], s["title"], [Entry.from_dict(e) for e in s["entries"]])
                for s in data.get("sections", [])
            ],
        )
