"""Health of each source, from the runs and items the store holds.

``source_health(store, sources)`` gives one dict per source:
``id``, ``name``, ``kind``, ``enabled``, ``last_run`` (datetime or None),
``last_status``, ``last_success``, ``last_error`` (``{"at", "kind", "message"}``
or None), ``items_30d``, ``last_item`` (when it last brought a new item),
``expected_gap_days`` and ``warnings`` (list of short English sentences).

A source is *silent longer than expected* when its last new item is older
than three times its usual gap between publications (the median gap of the
publication dates of its last 20 items), bounded to 7–90 days, or 30 days
when it has too few items to tell.
"""

from __future__ import annotations

import statistics
from collections.abc import Iterable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select

from watcher.base.clock import utcnow
from watcher.store import Store
from watcher.store.schema import item_sources, items, source_runs

DEFAULT_GAP = timedelta(days=30)
MIN_GAP, MAX_GAP = timedelta(days=7), timedelta(days=90)


def _expected_gap(published: list[datetime]) -> timedelta:
    dates = sorted(d for d in published if d is not None)
    if len(dates) < 5:
        return DEFAULT_GAP
    gaps = [(b - a).total_seconds() for a, b in zip(dates, dates[1:], strict=False)]
    gap = timedelta(seconds=statistics.median(gaps) * 3)
    return min(max(gap, MIN_GAP), MAX_GAP)


def source_health(
    store: Store, sources: Iterable[Any], *, now: datetime | None = None
) -> list[dict[str, Any]]:
    now = now or utcnow()
    month_ago = now - timedelta(days=30)
    result = []
    with store.connect() as connection:
        for source in sources:
            runs = connection.execute(
                select(source_runs)
                .where(source_runs.c.source_id == source.id)
                .order_by(source_runs.c.started_at.desc(), source_runs.c.id.desc())
                .limit(50)
            ).all()
            last = runs[0] if runs else None
            success = next((r for r in runs if r.status in ("ok", "not_modified")), None)
            error = next((r for r in runs if r.status == "failed"), None)
            failing = 0
            for run in runs:
                if run.status != "failed":
                    break
                failing += 1
            items_30d = connection.execute(
                select(func.count())
                .select_from(item_sources)
                .where(
                    item_sources.c.source_id == source.id, item_sources.c.first_seen >= month_ago
                )
            ).scalar()
            last_item = connection.execute(
                select(func.max(item_sources.c.first_seen)).where(
                    item_sources.c.source_id == source.id
                )
            ).scalar()
            published = list(
                connection.execute(
                    select(items.c.published)
                    .join(item_sources, item_sources.c.item_id == items.c.id)
                    .where(item_sources.c.source_id == source.id, items.c.published.is_not(None))
                    .order_by(items.c.published.desc())
                    .limit(20)
                ).scalars()
            )
            gap = _expected_gap(published)
            warnings = []
            if last is None:
                warnings.append("never collected")
            elif failing:
                warnings.append(f"failed in the last {failing} run(s): {error.error_kind}")
            if last is not None and success is not None:
                latest = last_item
                if latest is None or now - latest > gap:
                    since = f"since {latest:%Y-%m-%d}" if latest else "ever"
                    warnings.append(f"no new item {since} (expected one every ~{gap.days} days)")
            result.append(
                {
                    "id": source.id,
                    "name": source.name,
                    "kind": source.kind,
                    "enabled": source.enabled,
                    "last_run": last.started_at if last else None,
                    "last_status": last.status if last else None,
                    "last_success": success.started_at if success else None,
                    "last_error": (
                        {
                            "at": error.started_at,
                            "kind": error.error_kind,
                            "message": error.error_message,
                        }
                        if error
                        else None
                    ),
                    "items_30d": int(items_30d or 0),
                    "last_item": last_item,
                    "expected_gap_days": gap.days,
                    "warnings": warnings,
                }
            )
    return result
