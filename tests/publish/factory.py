"""Fill a store with generated items, sources, labels and runs (tests and bench).

Writes the core tables directly (SQLAlchemy Core) so the publish stage can be
tested without the collect and classify stages; rows look like theirs.
"""

from __future__ import annotations

import hashlib
import random
from datetime import UTC, date, datetime, timedelta
from typing import Any

from watcher.store import Store
from watcher.store.schema import crawl_runs, item_labels, item_sources, items, source_runs, sources

THEMES = [
    "dechets_ressources",
    "energie",
    "eau",
    "mutualisation",
    "btp_materiaux",
    "agri_biomasse",
    "territoire",
    "economie_circulaire",
    "decarbonation",
]
TYPES = ["appel_a_projets", "reglementation", "actualite", "evenement", "formation", "publication"]
SCOPES = ["grand_est", "france", "europe", "international"]
SOURCES = [
    ("ademe", "ADEME Grand Est"),
    ("region_ge", "Région Grand Est"),
    ("legifrance", "Légifrance"),
    ("orée", "Orée"),
    ("agence_eau", "Agence de l'eau Rhin-Meuse"),
    ("cci_ge", "CCI Grand Est"),
]
WORDS = [
    "chaleur",
    "fatale",
    "réseau",
    "synergie",
    "recyclage",
    "réemploi",
    "méthanisation",
    "friche",
    "zone",
    "activité",
    "entreprise",
    "territoire",
    "eau",
    "réutilisation",
    "décarbonation",
    "hydrogène",
    "biomasse",
    "béton",
    "déconstruction",
    "logistique",
    "mutualisation",
    "achats",
    "compost",
    "bois",
    "industrie",
]

HOSTILE_TITLE = (
    'Appel piégé <script>alert("x")</script><img src=x onerror="alert(1)">'
    '<a href="javascript:alert(2)">clic</a><iframe src="https://evil.example/"></iframe>'
)
HOSTILE_SUMMARY = (
    '<p onclick="alert(3)">Résumé <script>document.cookie</script>'
    '<a href="javascript:alert(4)">lien</a> <iframe src="x"></iframe>'
    "<style>body{display:none}</style><img src=x onerror=alert(5)></p>"
)


def ensure_sources(store: Store) -> None:
    with store.begin() as conn:
        existing = {r[0] for r in conn.execute(sources.select().with_only_columns(sources.c.id))}
        rows = [
            {
                "id": sid,
                "name": label,
                "organisation": label,
                "kind": "rss",
                "url": f"https://{sid}.example.org/feed",
                "enabled": True,
                "updated_at": datetime(2024, 1, 1, tzinfo=UTC),
            }
            for sid, label in SOURCES
            if sid not in existing
        ]
        if rows:
            conn.execute(sources.insert(), rows)


def add_item(
    store: Store,
    *,
    title: str,
    first_seen: datetime,
    text: str = "",
    summary: str = "",
    url: str | None = None,
    labels: dict[str, Any] | None = None,
    score: float = 0.9,
    source_ids: list[str] | None = None,
    extra: dict[str, Any] | None = None,
    event: dict[str, Any] | None = None,
) -> int:
    ensure_sources(store)
    return add_items(
        store,
        [
            {
                "title": title,
                "first_seen": first_seen,
                "text": text,
                "summary": summary,
                "url": url,
                "labels": labels,
                "score": score,
                "sources": source_ids or ["ademe"],
                "extra": extra or {},
                "event": event,
            }
        ],
    )[0]


def add_items(store: Store, specs: list[dict[str, Any]]) -> list[int]:
    """Insert many items at once; each spec as `add_item`'s keywords (+ `sources`)."""
    ensure_sources(store)
    ids: list[int] = []
    with store.begin() as conn:
        for spec in specs:
            key = spec.get("url") or f"{spec['title']}|{spec['first_seen'].isoformat()}|{len(ids)}"
            uid = hashlib.sha256(key.encode()).hexdigest()[:16]
            url = spec.get("url") or f"https://example.org/items/{uid}"
            result = conn.execute(
                items.insert().values(
                    uid=uid,
                    url=url,
                    title=spec["title"],
                    summary=spec.get("summary", ""),
                    text=spec.get("text", ""),
                    language="fr",
                    published=spec.get("published", spec["first_seen"]),
                    first_seen=spec["first_seen"],
                    last_seen=spec["first_seen"],
                    content_hash=uid,
                    extra=spec.get("extra") or {},
                    complete=True,
                )
            )
            item_id = result.inserted_primary_key[0]
            ids.append(item_id)
            for sid in spec.get("sources") or ["ademe"]:
                conn.execute(
                    item_sources.insert().values(
                        item_id=item_id, source_id=sid, url_seen=url, first_seen=spec["first_seen"]
                    )
                )
            if spec.get("labels") is not None:
                conn.execute(
                    item_labels.insert().values(
                        item_id=item_id,
                        labels=spec["labels"],
                        event=spec.get("event"),  # the model's EventInfo.to_dict(), or None
                        scores={"relevant": spec.get("score", 0.9)},
                        explanations={},
                        model_version="test",
                        input_hash=uid,
                        labelled_at=spec["first_seen"],
                    )
                )
    return ids


def labels(
    type_: str | None = "actualite",
    themes: list[str] | None = None,
    scope: str = "grand_est",
    deadline: date | None = None,
    relevant: bool = True,
) -> dict[str, Any]:
    return {
        "relevant": relevant,
        "type": type_ if relevant else None,
        "themes": (themes or ["energie"]) if relevant else [],
        "axes": ["veille"] if relevant else [],
        "scope": scope if relevant else None,
        "deadline": deadline.isoformat() if deadline else None,
    }


def _filler_vocabulary(rng: random.Random, size: int = 3000) -> list[str]:
    """Made-up words, so generated texts have a realistic spread of vocabulary
    (with only a few dozen words every query would match most items)."""
    syllables = ["ba", "cor", "di", "fen", "ga", "lu", "mar", "né", "pol", "ri", "sa", "ter", "vi"]
    words: set[str] = set()
    while len(words) < size:
        words.add("".join(rng.choice(syllables) for _ in range(rng.randint(2, 4))))
    return sorted(words)


def generated_specs(
    count: int, start: datetime, end: datetime, *, seed: int = 7
) -> list[dict[str, Any]]:
    """`count` plausible items spread over [start, end), 85 % relevant. Each
    domain word (WORDS) appears in about one item in ten."""
    rng = random.Random(seed)
    filler = _filler_vocabulary(random.Random(seed + 1))
    span = (end - start).total_seconds()
    specs = []
    for n in range(count):
        seen = start + timedelta(seconds=span * n / max(count, 1) + rng.random() * 60)
        kind = rng.choice(TYPES)
        words = rng.sample(WORDS, 3)
        other = rng.sample(filler, 8)
        relevant = rng.random() < 0.85
        deadline = (seen + timedelta(days=rng.randint(-5, 60))).date() if kind == TYPES[0] else None
        event = None
        if kind in ("evenement", "formation"):
            begins = (seen + timedelta(days=rng.randint(3, 40))).replace(
                hour=rng.choice([9, 10, 14]), minute=rng.choice([0, 30]), tzinfo=None
            )
            event = {
                "start": begins.strftime("%Y-%m-%dT%H:%M"),
                "end": None,
                "place": rng.choice(["Metz", "Nancy", "Reims", "Strasbourg", None]),
            }
        specs.append(
            {
                "title": f"{words[0].capitalize()} et {words[1]} : {other[0]} n°{n}",
                "first_seen": seen,
                "summary": f"Le projet {other[1]} associe {other[2]} et {words[2]}. "
                f"Il concerne {other[3]} en Grand Est. Suite sur {other[4]} {other[5]}.",
                "text": " ".join(rng.choice(filler) for _ in range(60)) + ".",
                "labels": labels(
                    kind,
                    rng.sample(THEMES, rng.randint(1, 2)),
                    rng.choice(SCOPES),
                    deadline,
                    relevant,
                ),
                "score": round(rng.uniform(0.55, 0.99), 3) if relevant else 0.1,
                "sources": rng.sample([s for s, _ in SOURCES], rng.randint(1, 2)),
                "event": event,
            }
        )
    return specs


def add_runs(store: Store, when: datetime) -> None:
    """One crawl run where every source succeeded but the last one failed."""
    ensure_sources(store)
    with store.begin() as conn:
        run = conn.execute(
            crawl_runs.insert().values(started_at=when, finished_at=when, status="done")
        ).inserted_primary_key[0]
        for n, (sid, _) in enumerate(SOURCES):
            failed = n == len(SOURCES) - 1
            conn.execute(
                source_runs.insert().values(
                    run_id=run,
                    source_id=sid,
                    started_at=when,
                    status="failed" if failed else "ok",
                    error_kind="timeout" if failed else None,
                    duration_s=1.0,
                    items_found=3,
                    items_new=1,
                )
            )
