"""The published bulletin of a week, cut and rendered for each subscriber.

An adapter over the publish stage (``watcher.store.bulletins`` and
``watcher.publish.bulletin``): the frozen snapshot is read once, then each
subscriber's themes, types and scopes select its entries.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from watcher.base.taxonomy import taxonomy_for
from watcher.deliver.send import LINK_SLOTS, Rendered
from watcher.deliver.tokens import public_base
from watcher.exceptions import DeliveryError
from watcher.publish.bulletin import filter_bulletin, mail_context, render_email
from watcher.publish.model import Bulletin
from watcher.publish.render import render
from watcher.settings import Settings
from watcher.store import Store
from watcher.store import bulletins as store_bulletins


def open_calls(bulletin: Bulletin) -> int:
    """Calls for projects still open on the issue date (or with no stated deadline)."""
    seen = set()
    for entry in bulletin.entries:
        if entry.type != "appel_a_projets" or entry.item_id in seen:
            continue
        if entry.deadline is None or entry.deadline >= bulletin.issue_date:
            seen.add(entry.item_id)
    return len(seen)


def item_count(bulletin: Bulletin) -> int:
    return len({e.item_id for e in bulletin.entries})


class PublishedWeek:
    """A week's latest published edition (the ``WeekMail`` that ``deliver`` reads)."""

    def __init__(self, store: Store, week: str, settings: Settings) -> None:
        current = store_bulletins.current_edition(store, week)
        if current is None or current["status"] != "published" or not current["snapshot"]:
            raise DeliveryError(
                f"bulletin {week} is not published: nothing to send",
                hint="publish it in the desk (Publier) first",
            )
        self.week = week
        self.edition: int = current["edition"]
        self.published_at: datetime = current["published_at"]
        self.settings = settings
        self.bulletin = Bulletin.from_dict(current["snapshot"])
        self.bulletin.edition = self.edition
        self.bulletin.status = "published"
        self._cache: dict[tuple, Rendered] = {}
        # With a public web app, each message gets its own links in the slots.
        slots = LINK_SLOTS if public_base(settings) else None
        self._links = {
            "manage_url": slots.manage if slots else "",
            "unsubscribe_url": slots.unsubscribe if slots else "",
        }

    def render_for(self, subscriber: dict[str, Any]) -> Rendered:
        # Subscribers share few distinct choices: render each cut once.
        key = (
            tuple(subscriber.get("themes") or ()),
            tuple(subscriber.get("types") or ()),
            tuple(subscriber.get("scopes") or ()),
        )
        if key not in self._cache:
            cut = filter_bulletin(
                self.bulletin,
                theme_names=taxonomy_for(self.settings).names["themes"],
                themes=key[0] or None,
                types=key[1] or None,
                scope=key[2] or None,
            )
            html, text = render_email(cut, self.settings, **self._links)
            self._cache[key] = Rendered(html, text, item_count(cut), open_calls(cut))
        return self._cache[key]

    def empty_note(self, subscriber: dict[str, Any]) -> Rendered:
        names = taxonomy_for(self.settings).names["themes"]
        context = {
            "bulletin": self.bulletin,
            "themes": [names.get(t, t) for t in subscriber.get("themes") or []],
            "web_url": _web_url(self.settings, self.week),
            **mail_context(self.bulletin, self.settings, **self._links),
            "preheader": f"{self.bulletin.period} : rien de retenu pour vos thèmes",
        }
        html = render("desk/mail/empty_note.html", self.settings, **context)
        text = render("desk/mail/empty_note.txt", self.settings, **context)
        return Rendered(html, text, 0, 0)


def _web_url(settings: Settings, week: str) -> str:
    public = (settings.publish.public_url or "").rstrip("/")
    return f"{public}/bulletins/{week}/" if public else ""
