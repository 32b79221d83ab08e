"""The indicators page's figures (the network's axis 5) and their SVG charts.

Figures are computed from item dicts; charts are drawn with matplotlib (Agg)
as static SVG with a fixed hash salt and no date, so the same figures give the
same bytes and an unchanged chart is not rewritten.
"""

from __future__ import annotations

import io
from collections import Counter
from datetime import date, timedelta
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

from watcher.base.weeks import week_of  # noqa: E402

PALETTE = [
    "#1f5f3f",
    "#14456b",
    "#8a2b0f",
    "#7a5c00",
    "#5b3f8c",
    "#00707a",
    "#a33a6b",
    "#4d6b1f",
    "#555555",
]


def last_weeks(today: date, count: int = 52) -> list[str]:
    """The `count` complete weeks before the current one, oldest first: a week in
    progress would show a short bar (and redraw the charts at every build)."""
    return [week_of(today - timedelta(weeks=n)) for n in range(count, 0, -1)]


def weekly_counts(
    rows: list[dict[str, Any]], weeks: list[str], field: str
) -> dict[str, dict[str, int]]:
    """{week: {label id: items}} for `field` in ("themes", "type") over `weeks`."""
    wanted = set(weeks)
    table: dict[str, Counter] = {w: Counter() for w in weeks}
    for row in rows:
        week = row.get("_week")
        if week not in wanted:
            continue
        value = (row.get("labels") or {}).get(field)
        for key in value if isinstance(value, list) else [value]:
            if key:
                table[week][key] += 1
    return {w: dict(c) for w, c in table.items()}


def source_counts(rows: list[dict[str, Any]], weeks: list[str]) -> Counter:
    wanted = set(weeks)
    counts: Counter = Counter()
    for row in rows:
        if row.get("_week") in wanted:
            for name in row.get("source_names") or row.get("sources") or []:
                counts[name] += 1
    return counts


def _svg(fig: Any) -> bytes:
    buffer = io.BytesIO()
    fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    plt.close(fig)
    return buffer.getvalue()


def _setup() -> None:
    plt.rcParams.update(
        {
            "svg.hashsalt": "watcher",
            "svg.fonttype": "none",
            "font.size": 9,
            "axes.spines.top": False,
            "axes.spines.right": False,
        }
    )


def weekly_chart(table: dict[str, dict[str, int]], labels: dict[str, str], title: str) -> bytes:
    """Stacked bars: items per week, one colour per theme or type (``labels``: id -> name)."""
    _setup()
    weeks = list(table)
    keys = list(labels)
    fig, ax = plt.subplots(figsize=(9, 3.6))
    bottom = [0] * len(weeks)
    for n, key in enumerate(keys):
        values = [table[w].get(key, 0) for w in weeks]
        if not any(values):
            continue
        ax.bar(
            range(len(weeks)),
            values,
            bottom=bottom,
            color=PALETTE[n % len(PALETTE)],
            label=labels[key],
            width=0.85,
        )
        bottom = [b + v for b, v in zip(bottom, values, strict=True)]
    step = max(1, len(weeks) // 13)
    ax.set_xticks(range(0, len(weeks), step))
    ax.set_xticklabels([weeks[i][2:] for i in range(0, len(weeks), step)], rotation=45)
    ax.set_ylabel("informations par semaine")
    ax.set_title(title)
    if any(bottom):
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), frameon=False)
    return _svg(fig)


def sources_chart(counts: Counter, title: str, top: int = 20) -> bytes:
    _setup()
    best = counts.most_common(top)[::-1]
    fig, ax = plt.subplots(figsize=(8, 0.3 * max(len(best), 3) + 1))
    ax.barh([name for name, _ in best], [value for _, value in best], color=PALETTE[1])
    ax.set_xlabel("informations collectées")
    ax.set_title(title)
    return _svg(fig)
