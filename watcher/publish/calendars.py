"""iCalendar files (icalendar): open calls' closing dates and events.

One all-day event per closing date and per event date; UIDs come from the
item's stable ``uid`` and DTSTAMP from its first-seen time, so a rebuild gives
the same file and a calendar never duplicates an entry.
"""

from __future__ import annotations

from datetime import UTC, date, timedelta
from typing import Any

from icalendar import Calendar, Event

from watcher.publish.sanitize import plain_text, safe_url
from watcher.publish.selection import EVENT_DATE_KEYS, _as_date

DOMAIN = "veille-eit-grand-est.fr"
PAST_EVENTS_DAYS = 60


def calendar_events(rows: list[dict[str, Any]], today: date) -> list[dict[str, Any]]:
    """The dated things of `rows`: {"kind": "cloture"|"evenement", "day", "row"}."""
    out = []
    for row in rows:
        labels = row.get("labels") or {}
        kind = labels.get("type")
        if kind == "appel_a_projets":
            deadline = _as_date(labels.get("deadline"))
            if deadline and deadline >= today:
                out.append({"kind": "cloture", "day": deadline, "row": row})
        elif kind == "evenement":
            extra = row.get("extra") or {}
            day = next((_as_date(extra.get(k)) for k in EVENT_DATE_KEYS if extra.get(k)), None)
            if day and day >= today - timedelta(days=PAST_EVENTS_DAYS):
                out.append({"kind": "evenement", "day": day, "row": row})
    out.sort(key=lambda e: (e["day"], e["row"]["id"]))
    return out


def ics_calendar(events: list[dict[str, Any]], *, title: str, public_url: str = "") -> bytes:
    cal = Calendar()
    cal.add("prodid", "-//Veille EIT Grand Est//watcher//FR")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", title)
    base = public_url.rstrip("/")
    for event in events:
        row = event["row"]
        title_text = plain_text(row.get("title")) or "(sans titre)"
        item = Event()
        item.add("uid", f"{row['uid']}-{event['kind']}@{DOMAIN}")
        stamp = row["first_seen"]
        item.add("dtstamp", stamp if stamp.tzinfo else stamp.replace(tzinfo=UTC))
        item.add("dtstart", event["day"])
        item.add("dtend", event["day"] + timedelta(days=1))
        prefix = "Clôture : " if event["kind"] == "cloture" else ""
        item.add("summary", f"{prefix}{title_text}")
        link = f"{base}/items/{row['uid']}.html" if base else safe_url(row.get("url"))
        if link:
            item.add("url", link)
        description = plain_text(row.get("summary"))[:500]
        item.add("description", "\n".join(filter(None, [description, link])))
        item.add("transp", "TRANSPARENT")
        cal.add_component(item)
    return cal.to_ical()
