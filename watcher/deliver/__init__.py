"""Subscribers' mail: building, SMTP, delivery log.

send_week(store, week, settings, *, dry_run=False, out_dir=None) -> DeliveryReport
add_subscriber(store, email, name="", themes=None, types=None, scopes=None) -> int
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
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
    retry_permanent: bool = True,
    on_wait: Callable[[str], None] | None = None,
    stop: threading.Event | None = None,
) -> DeliveryReport:
    """Send (or, with ``dry_run``, write as .eml under ``out_dir/mail/<week>/``) the
    week's published bulletin to each active subscriber, cut to their themes.

    One send at a time per database (a lock beside an SQLite database, or in the
    PostgreSQL database): a second one, the scheduler's and a manual one for
    instance, waits for the first to end (``on_wait(lock)`` is told once), then
    finds its messages sent. Side by side, a message the other run had in flight
    was taken for one left ``pending`` by a dead run: reported uncertain, and
    sent a second time with ``retry_uncertain``. ``retry_permanent``, ``stop``: see
    ``deliver``."""
    from watcher.deliver.bulletin import PublishedWeek
    from watcher.store.run_lock import lock_path, waiting_lock

    def run() -> DeliveryReport:
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
            retry_permanent=retry_permanent,
            stop=stop,
        )

    if dry_run:
        return run()
    lock = lock_path(store, Path(settings.publish.output_dir), "send")
    with waiting_lock(lock, on_wait=on_wait or _log_wait):
        return run()


def _log_wait(lock: str) -> None:
    logging.getLogger(__name__).warning(
        "another send is running on this database (%s is held): waiting for it to end", lock
    )


__all__ = [
    "DeliveryReport",
    "add_subscriber",
    "import_csv",
    "remove_subscriber",
    "send_week",
]
