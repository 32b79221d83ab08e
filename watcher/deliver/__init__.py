"""Subscribers' mail: building, SMTP, delivery log.

send_week(store, week, settings, *, dry_run=False, out_dir=None) -> DeliveryReport
add_subscriber(store, email, name="", themes=None, types=None, scopes=None) -> int
"""

from __future__ import annotations

from pathlib import Path

from watcher.deliver.send import DeliveryReport, Transport, deliver
from watcher.deliver.subscribers import add_subscriber, import_csv, remove_subscriber
from watcher.deliver.tokens import delivery_secret
from watcher.settings import Settings
from watcher.store import Store


def send_week(
    store: Store,
    week: str,
    settings: Settings,
    *,
    dry_run: bool = False,
    out_dir: Path | str | None = None,
    transport: Transport | None = None,
    retry_uncertain: bool = False,
) -> DeliveryReport:
    """Send (or, with ``dry_run``, write as .eml under ``out_dir/mail/<week>/``) the
    week's published bulletin to each active subscriber, cut to their themes."""
    from watcher.deliver.bulletin import PublishedWeek

    week_mail = PublishedWeek(store, week, settings)
    return deliver(
        store,
        week_mail,
        settings,
        secret=delivery_secret(store, settings),
        dry_run=dry_run,
        out_dir=Path(out_dir) if out_dir else None,
        transport=transport,
        retry_uncertain=retry_uncertain,
    )


__all__ = [
    "DeliveryReport",
    "add_subscriber",
    "import_csv",
    "remove_subscriber",
    "send_week",
]
