"""Alerts: what the team must hear about, gathered into one digest e-mail.

An alert is opened once per (kind, subject) and refreshed while its cause
lasts (a source failing run after run is one alert, not one per run); it is
resolved when the cause clears. The digest sends every alert not yet sent in
one message to the team's address, and marks them sent, so a bad night makes
one mail, not fifty. Every alert is also a log line, and the desk reads
:func:`open_alerts`.
"""

from __future__ import annotations

import logging
import shutil
from collections import defaultdict
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from watcher.schedule.logs import log_event
from watcher.schedule.runtime import Runtime
from watcher.store import Store
from watcher.store import jobs as store_jobs
from watcher.store.delivery import list_deliveries, list_subscribers

# Kind → (French heading of the digest section, what the team should do).
KINDS: dict[str, tuple[str, str]] = {
    "source_failing": (
        "Sources en échec",
        "Vérifier l'adresse et les sélecteurs dans sources.yaml (watcher sources check).",
    ),
    "source_silent": (
        "Sources muettes",
        "Aucune collecte réussie depuis plus longtemps que prévu.",
    ),
    "crawl_timeout": (
        "Collectes interrompues",
        "Une collecte a dépassé sa durée maximale et a été arrêtée.",
    ),
    "send_failures": (
        "Envois en échec",
        "Des abonnés n'ont pas reçu le bulletin (page « Abonnés » du bureau, ou watcher deliveries).",
    ),
    "send_uncertain": (
        "Envois incertains",
        "Des messages ont peut-être été reçus : ils ne sont pas renvoyés d'eux-mêmes "
        "(page « Abonnés » du bureau, ou watcher deliveries --status uncertain).",
    ),
    "unpublished_week": (
        "Bulletin non publié",
        "Le bulletin n'a pas été publié par l'équipe : rien n'a été envoyé.",
    ),
    "disk_full": ("Disque presque plein", "Libérer de la place sur le serveur."),
    "job_failed": ("Tâches en échec", "Voir le journal (output/logs/watcher.log)."),
    "job_missed": (
        "Tâches manquées",
        "Le planificateur était arrêté (ou occupé) à l'heure prévue, au-delà du délai de "
        "rattrapage : la tâche n'a pas été lancée.",
    ),
    "week_unsent": (
        "Bulletins jamais envoyés",
        "L'envoi de la semaine a échoué sans être refait, ou le planificateur était arrêté "
        "à son heure et n'a rattrapé que le bulletin le plus récent (ou s'est tu, trop "
        "près de l'envoi suivant), pour ne pas envoyer d'un coup deux bulletins. "
        "L'alerte se ferme quand la semaine est envoyée (commande indiquée), ou d'elle-même "
        "huit semaines après l'envoi prévu.",
    ),
    "config_error": ("Configuration invalide", "Corriger le fichier indiqué."),
}


def open_alerts(store: Store) -> list[dict[str, Any]]:
    """Alerts whose cause has not cleared, newest first (for the desk and `watcher status`)."""
    return store_jobs.open_alerts(store)


# Events rather than conditions: nothing "clears" them, each is reported once.
EVENT_KINDS = {"crawl_timeout"}


def alert(rt: Runtime, kind: str, subject: str, detail: str) -> bool:
    """Open or refresh an alert and log it; True when it is new."""
    new = store_jobs.raise_alert(rt.store, kind, subject, detail, now=rt.now())
    log_event("alert", logging.WARNING, kind=kind, subject=subject, new=new, detail=detail)
    if kind in EVENT_KINDS:
        store_jobs.resolve_alerts(rt.store, kind, subject, now=rt.now())
    return new


def clear(rt: Runtime, kind: str, subject: str | None = None) -> None:
    n = store_jobs.resolve_alerts(rt.store, kind, subject, now=rt.now())
    if n:
        log_event("alert_resolved", kind=kind, subject=subject or "*", count=n)


def _interval(source: Any, default_h: float) -> timedelta:
    if "check_every" in source.model_fields_set:
        return source.check_every
    return timedelta(hours=default_h)


def check_sources(rt: Runtime, sources: list[Any], *, silence: bool = True) -> dict[str, int]:
    """Failing N runs in a row, or no success for too long: open or clear alerts."""
    s = rt.settings.schedule
    n = max(1, s.failing_runs_alert)
    recent = store_jobs.recent_source_statuses(rt.store, n)
    successes = store_jobs.last_source_successes(rt.store)
    latest = store_jobs.last_source_runs(rt.store)
    now = rt.now()
    counts = {"failing": 0, "silent": 0}
    for source in sources:
        runs = recent.get(source.id, [])
        if len(runs) >= n and all(r["status"] == "failed" for r in runs):
            last = runs[0]
            alert(
                rt,
                "source_failing",
                source.id,
                f"{len(runs)} collecte{'s' if len(runs) > 1 else ''} de suite en échec ; "
                "dernière : "
                f"{last.get('error_kind') or 'erreur'} {last.get('error_message') or ''}".strip(),
            )
            counts["failing"] += 1
        elif runs and runs[0]["status"] != "failed":
            clear(rt, "source_failing", source.id)
        if not silence:
            continue
        interval = _interval(source, s.collect_default_interval_h)
        limit = interval * s.silent_after_intervals
        last_ok = successes.get(source.id)
        # Silent: tried (or skipped, e.g. its host backed off) since its last success,
        # and no success for too long. A source not tried since (the scheduler was
        # off) or never collected yet is not silent: the next tick will try it.
        tried_since = last_ok is not None and latest.get(source.id, last_ok) > last_ok
        if tried_since and now - last_ok > limit:
            alert(
                rt,
                "source_silent",
                source.id,
                f"aucune collecte réussie depuis le {last_ok:%d/%m/%Y %H:%M} UTC "
                f"(intervalle prévu : {interval})",
            )
            counts["silent"] += 1
        elif last_ok is not None:
            clear(rt, "source_silent", source.id)
    return counts


# A send alert stays open while its week still has a row in one of these states.
_SEND_ALERT_STATES = {"send_failures": {"failed"}, "send_uncertain": {"uncertain", "pending"}}


def check_sends(rt: Runtime) -> int:
    """Clear the send alerts whose week was mended since (a `watcher send` run by
    hand, `--retry-uncertain` after checking the SMTP log); the number still open."""
    still_open = 0
    active: set[int] | None = None
    for row in open_alerts(rt.store):
        states = _SEND_ALERT_STATES.get(row["kind"])
        if states is None:
            continue
        if active is None:  # a reader who left since is no longer owed this week
            active = {r["id"] for r in list_subscribers(rt.store, status="active")}
        left = [
            d
            for d in list_deliveries(rt.store, week=row["subject"])
            if d["status"] in states and d["subscriber_id"] in active
        ]
        if left:
            still_open += 1
        else:
            clear(rt, row["kind"], row["subject"])
    return still_open


def disk_free_percent(path: Path) -> float:
    while not path.exists() and path != path.parent:
        path = path.parent
    usage = shutil.disk_usage(path)
    return 100.0 * usage.free / usage.total if usage.total else 100.0


def check_disk(rt: Runtime) -> float:
    where = rt.store.path.parent if rt.store.path is not None else Path(".")
    free = disk_free_percent(where)
    if free < rt.settings.schedule.disk_free_alert_percent:
        alert(rt, "disk_full", str(where), f"{free:.1f} % d'espace libre sur {where}")
    else:
        clear(rt, "disk_full", str(where))
    return free


def _paris(moment: datetime | None, tz: Any) -> str:
    return moment.astimezone(tz).strftime("%d/%m/%Y %H:%M") if moment else "?"


def compose_digest(alerts_: list[dict[str, Any]], tz: Any) -> tuple[str, str]:
    """Subject and plain-text body of the team's digest, in French."""
    by_kind: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for row in alerts_:
        by_kind[row["kind"]].append(row)
    summary = ", ".join(
        f"{KINDS.get(kind, (kind, ''))[0].lower()} ({len(rows)})" for kind, rows in by_kind.items()
    )
    plural = "s" if len(alerts_) > 1 else ""
    subject = f"[veille] {len(alerts_)} alerte{plural} : {summary}"
    lines = [
        "Bonjour,",
        "",
        f"La veille automatique signale {len(alerts_)} alerte{plural} depuis le dernier envoi.",
    ]
    for kind, rows in by_kind.items():
        title, advice = KINDS.get(kind, (kind, ""))
        lines += ["", f"== {title} ({len(rows)}) ==", advice] if advice else ["", f"== {title} =="]
        for row in rows:
            head = f"- {row['subject']} : {row['detail']}"
            if kind in EVENT_KINDS:
                lines.append(f"{head} (le {_paris(row['first_seen'], tz)})")
                continue
            state = "résolue depuis" if row.get("resolved_at") else "toujours en cours"
            seen = f"vue {row['count']} fois" if row["count"] > 1 else "vue une fois"
            lines.append(f"{head} ({seen} depuis le {_paris(row['first_seen'], tz)}, {state})")
    lines += [
        "",
        "Les alertes en cours sont aussi visibles dans le bureau de veille et par "
        "`watcher status`.",
        "",
        "-- watcher",
    ]
    return subject, "\n".join(lines) + "\n"


def send_digest(rt: Runtime) -> int:
    """Send every alert not yet sent, in one e-mail; returns how many went out."""
    from watcher.schedule.mail import send_team_mail

    pending = store_jobs.undigested_alerts(rt.store)
    if not pending:
        return 0
    subject, body = compose_digest(pending, rt.tz)
    to = rt.settings.schedule.team_email
    send_team_mail(rt.settings, to, subject, body)
    store_jobs.mark_digested(rt.store, [row["id"] for row in pending], now=rt.now())
    log_event("digest_sent", to=to, alerts=len(pending), subject=subject)
    return len(pending)
