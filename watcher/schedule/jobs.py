"""The jobs of the week: collect (+ classify), draft, send (+ site), health (+ retry),
retention.

Each job is a function of the :class:`Runtime` returning a :class:`JobResult`;
:data:`JOBS` maps a job name to it. The other stages are imported inside the
functions, so the scheduler starts (and ``watcher status`` answers) even when
one stage is broken, and that job alone fails and is reported.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from typing import Any

from watcher.base.weeks import WEEKDAYS_FR, week_dates, week_of
from watcher.exceptions import ConfigError
from watcher.schedule import alerts
from watcher.schedule.crawl import due_sources
from watcher.schedule.logs import log_event
from watcher.schedule.runtime import JobFunc, JobResult, Runtime, brief, run_job
from watcher.settings import WEEKDAYS, weekday
from watcher.store import jobs as store_jobs

SCHEDULE_USER = "watcher-schedule"  # who publishes a week the team did not


def draft_week(rt: Runtime) -> str:
    """Thursday's draft is for the week under way."""
    return week_of(rt.now(), rt.tz)


def send_week_of(rt: Runtime) -> str:
    """The bulletin the send owes now: the week of the latest send slot passed.

    Counted from the last send day and time on or before now, not from today: a
    Sunday send caught up on Monday (after downtime) is still the bulletin that was
    due on Sunday, or that week would never go out; and a send run on the send day
    before the send time (a catch-up of last week's slot, a resumed send) is last
    week's, not the week that just ended, an hour early, before the curators' deadline.
    """
    now = rt.now().astimezone(rt.tz)
    due = WEEKDAYS.index(weekday(rt.settings.schedule.send_day))
    last_send_day = now - timedelta(days=(now.weekday() - due) % 7)
    week = week_of(last_send_day - timedelta(days=7), rt.tz)
    if send_slot(rt, week) > now:
        week = _next_week(week, -1)
    return week


def _next_week(week: str, step: int = 1) -> str:
    return week_of(week_dates(week)[0] + timedelta(weeks=step))


def send_slot(rt: Runtime, week: str) -> datetime:
    """When the scheduler sends ``week``: the first send day after it, at the send time."""
    s = rt.settings.schedule
    due = WEEKDAYS.index(weekday(s.send_day))
    hour, minute = (int(part) for part in s.send_time.split(":"))
    day = week_dates(week)[0] + timedelta(days=7 + due)
    return datetime.combine(day, time(hour, minute), rt.tz)


# How far back a week lost to downtime is reported, and how long its alert stays open
# unless sent: a bulletin older than that is stale news.
UNSENT_HORIZON_WEEKS = 8
# A catch-up this close to the next send is not sent: readers would get two bulletins
# within hours. The next send goes out on time; the late week is reported, for the team.
CATCH_UP_MIN_GAP = timedelta(hours=24)
# Send runs after which a week is settled: sent, or its own alert says why not
# (unpublished with uncurated_week = skip, a catch-up given up: week_unsent).
_SETTLED = {"ok", "skipped"}


def _week_went_out(rt: Runtime, week: str) -> bool:
    """Some reader got it, or may have: a week whose every message failed did not."""
    from watcher.store.delivery import delivery_counts

    return any(n for status, n in delivery_counts(rt.store, week)[1].items() if status != "failed")


def _owed(rt: Runtime, week: str) -> str | None:
    """The command that sends ``week``, when some reader was owed it; else None.

    Owed: some active reader had subscribed by its send time, and it is published (or
    would have been: ``uncurated_week = automatic``)."""
    from watcher.store.bulletins import is_published
    from watcher.store.delivery import list_subscribers

    slot = send_slot(rt, week)
    if not any(r["created_at"] <= slot for r in list_subscribers(rt.store, status="active")):
        return None
    if is_published(rt.store, week):
        return f"watcher send --week {week}"
    if rt.settings.schedule.uncurated_week == "skip":
        return None  # nothing would have gone out: the team had not published it
    return f"watcher bulletin publish --week {week} puis watcher send --week {week}"


def check_unsent_weeks(rt: Runtime, *, include_current: bool = True) -> list[str]:
    """An alert for each week the scheduler should have sent and never did; the weeks open.

    A week is owed once its send time has passed and no send run since (until the next
    week's send time) settled it: missed runs are coalesced (back after days off across
    two send days, the scheduler sends the latest week only, so that readers do not get
    two stale bulletins at once) and the earlier one was dropped without a word; a run
    missed beyond its grace is not run at all; a run that failed outright (raised, or
    reached no reader) leaves its week unsent, and its « Tâches en échec » alert closed
    with the next week's send. Only weeks after the scheduler's first send count (a
    fresh install owes nothing), no message of it went out, and some reader was owed it
    (:func:`_owed`). The current week is owed only when its own run failed (a missed
    one is caught up, or is a « Tâches manquées »). Its alert closes once the week is
    sent (``watcher send --week``), or past the horizon.
    """
    now = rt.now()
    oldest = now - timedelta(weeks=UNSENT_HORIZON_WEEKS)

    for row in alerts.open_alerts(rt.store):
        if row["kind"] == "week_unsent" and (
            _week_went_out(rt, row["subject"]) or send_slot(rt, row["subject"]) < oldest
        ):
            alerts.clear(rt, "week_unsent", row["subject"])
    first = store_jobs.first_start(rt.store, "send")
    if first is not None:
        runs = store_jobs.finished_runs(rt.store, "send", oldest - timedelta(weeks=1))
        current = send_week_of(rt)
        for back in range(0 if include_current else 1, UNSENT_HORIZON_WEEKS + 1):
            week = _next_week(current, -back)
            slot, until = send_slot(rt, week), send_slot(rt, _next_week(week))
            if slot < oldest or until <= first:
                break  # stale; or due before the scheduler ever sent
            ran = [r["outcome"] for r in runs if slot <= r["started_at"] < until]
            if _SETTLED.intersection(ran) or (back == 0 and not ran):
                continue
            if _week_went_out(rt, week):
                continue
            how = _owed(rt, week)
            if how is None:
                continue
            if ran:
                why = (
                    f"son envoi du {slot:%d/%m/%Y à %H:%M} a échoué (voir le journal) "
                    "et n'a pas été refait"
                )
            else:
                why = (
                    f"le planificateur ne tournait pas à l'heure de son envoi (le "
                    f"{slot:%d/%m/%Y à %H:%M}) et ne rattrape que le plus récent"
                )
            alerts.alert(
                rt,
                "week_unsent",
                week,
                f"le bulletin {week} n'est pas parti : {why} ; pour l'envoyer quand même : {how}",
            )
    return sorted(r["subject"] for r in alerts.open_alerts(rt.store) if r["kind"] == "week_unsent")


def report_unsent_weeks(rt: Runtime, *, include_current: bool = True) -> None:
    """check_unsent_weeks, logged when the store fails: a report on other weeks must not
    fail this job's own work, nor the scheduler's start."""
    try:
        check_unsent_weeks(rt, include_current=include_current)
    except Exception as exc:
        log_event("unsent_check_failed", logging.ERROR, error=brief(exc))


def _sources(rt: Runtime) -> list[Any]:
    try:
        sources = rt.load_sources()
    except ConfigError as exc:
        alerts.alert(rt, "config_error", "sources.yaml", str(exc))
        raise
    alerts.clear(rt, "config_error", "sources.yaml")
    return sources.enabled()


# --- collect and classify ----------------------------------------------------------------


def collect(rt: Runtime) -> JobResult:
    """One crawl over every source that is due, then classification.

    The crawl is the collect stage's (``run_collect``: the lock, the crawl process, its
    time limit and its end); this job picks the sources and reports.
    """
    from watcher.collect import run_collect
    from watcher.collect.lock import CrawlBusy

    enabled = _sources(rt)
    due = due_sources(rt, enabled, rt.now())
    _site_if_published(rt)
    if not due:
        return JobResult("skipped", "no source due", quiet=True)
    ids = [s.id for s in due]
    log_path = rt.settings.collect.crawl_log
    if log_path is None:
        rt.log_dir.mkdir(parents=True, exist_ok=True)
        log_path = rt.log_dir / "crawl-last.log"
        log_path.write_text("", encoding="utf-8")  # the last crawl's log, not all of them
    log_event("crawl_start", sources=len(ids), time_limit_s=rt.settings.collect.crawl_time_limit_s)
    try:
        report = run_collect(
            due,
            db=rt.store,
            settings=rt.settings,
            trigger="schedule",
            stop=rt.stopping,
            log_path=log_path,
        )
    except CrawlBusy as exc:
        return JobResult("skipped", str(exc))
    except KeyboardInterrupt:  # Ctrl-C on `watcher run collect`: the crawl stopped cleanly
        rt.stop()
        return JobResult("interrupted", f"{len(ids)} sources due; interrupted (Ctrl-C)")
    end = report.exit
    counts = _counts(report)
    detail = (
        f"{len(ids)} sources due; run {report.run_id}: "
        f"{counts['ok']} ok, {counts['not_modified']} unchanged, {counts['failed']} failed, "
        f"{counts['new']} new items in {end.duration_s:.0f}s"
    )
    log_event(
        "crawl_done",
        level=logging.ERROR if end.killed else logging.INFO,
        returncode=end.returncode,
        ok=counts["ok"],
        unchanged=counts["not_modified"],
        failed=counts["failed"],
        new=counts["new"],
        duration_s=end.duration_s,
        timed_out=end.timed_out,
        killed=end.killed,
    )
    alerts.check_sources(rt, due, silence=False)
    if not end.stopped:
        # Every item saved is whole (one transaction each), even from a crawl cut short.
        run_job("classify", trigger="after-crawl")
    if end.timed_out:
        limit = rt.settings.collect.crawl_time_limit_s
        alerts.alert(
            rt,
            "crawl_timeout",
            f"collecte {report.run_id}",
            f"arrêtée après {end.duration_s:.0f} s (limite {limit} s) sur {len(ids)} "
            f"sources{' ; tuée (SIGKILL)' if end.killed else ''}",
        )
        return JobResult("killed", detail)
    if end.stopped:
        return JobResult("interrupted", detail + " (scheduler stopping)")
    if end.returncode != 0:
        tail = end.log_tail.splitlines()[-1:] or [""]
        return JobResult("failed", f"{detail}; crawl exited {end.returncode}: {tail[0]}")
    return JobResult("ok", detail)


def _counts(report: Any) -> dict[str, int]:
    out = {"ok": 0, "not_modified": 0, "failed": 0, "skipped": 0, "new": 0}
    for source in report.sources:
        out[source.status] = out.get(source.status, 0) + 1
        out["new"] += source.items_new
    return out


def classify(rt: Runtime) -> JobResult:
    if rt.stopping.is_set():
        return JobResult("skipped", "scheduler stopping")
    from watcher.classify import classify_pending

    try:
        sources = rt.load_sources()  # each source's label hints are priors
    except ConfigError:
        sources = None
    labelled = classify_pending(rt.store, rt.settings, sources=sources)
    return JobResult("ok", f"{labelled} items labelled")


# --- the week's bulletin -------------------------------------------------------------------


def draft(rt: Runtime) -> JobResult:
    """Thursday: write the draft of the week's bulletin and remind the curators."""
    from watcher.publish.bulletin import candidates, write_bulletin
    from watcher.schedule.mail import send_team_mail

    week = draft_week(rt)
    paths = write_bulletin(rt.store, week, rt.settings)
    count = len(candidates(rt.store, week, rt.settings))
    s = rt.settings.schedule
    to = s.curators_email or s.team_email
    desk = (
        rt.settings.desk.public_url  # where the desk is public
        or f"http://{rt.settings.desk.host}:{rt.settings.desk.port}/"
    )
    from watcher.base.weeks import week_label

    send_team_mail(
        rt.settings,
        to,
        f"[veille] Brouillon du bulletin {week} : {count} candidats à relire",
        "Bonjour,\n\n"
        f"Le brouillon du bulletin de la {week_label(week)} est prêt : {count} candidats "
        "attendent votre relecture.\n\n"
        f"Bureau de veille : {desk}\n"
        f"Envoi automatique {WEEKDAYS_FR[WEEKDAYS.index(weekday(s.send_day))]} à {s.send_time} ; "
        "s'il n'est pas publié d'ici là, "
        + (
            "la sélection automatique partira telle quelle.\n"
            if s.uncurated_week == "automatic"
            else "rien ne partira.\n"
        )
        + "\n-- watcher\n",
    )
    log_event("reminder_sent", to=to, week=week, candidates=count)
    return JobResult("ok", f"{week}: {count} candidates, {len(paths)} files written")


def send(rt: Runtime) -> JobResult:
    """Monday: send last week's bulletin (curated if published, else per setting)."""
    from watcher.deliver import send_week
    from watcher.publish.bulletin import publish_bulletin
    from watcher.store.bulletins import is_published

    week = send_week_of(rt)
    # The weeks before this one that never went out; this one is being sent.
    report_unsent_weeks(rt, include_current=False)
    mode = rt.settings.schedule.uncurated_week
    published = is_published(rt.store, week)
    too_late = _catch_up_too_late(rt, week, published)
    if too_late:
        return too_late
    if not published:
        if mode == "skip":
            alerts.alert(
                rt,
                "unpublished_week",
                week,
                f"le bulletin {week} n'a pas été publié par l'équipe ; rien n'a été envoyé "
                "(schedule.uncurated_week = skip)",
            )
            return JobResult("skipped", f"{week} not published; nothing sent")
        edition = publish_bulletin(rt.store, week, SCHEDULE_USER, rt.settings)
        log_event("published", week=week, edition=edition, by=SCHEDULE_USER)
    else:
        alerts.clear(rt, "unpublished_week", week)
    report = send_week(
        rt.store,
        week,
        rt.settings,
        on_wait=lambda lock: log_event("send_waiting", logging.WARNING, week=week, lock=lock),
        stop=rt.stopping,
    )
    failed = dict(getattr(report, "failed", {}) or {})
    gave_up = list(getattr(report, "gave_up", []) or [])
    sent = len(getattr(report, "sent", []) or [])
    already = len(getattr(report, "already_sent", []) or [])
    uncertain = list(getattr(report, "uncertain", []) or [])
    detail = (
        f"{week}: {sent} sent, {already} already sent, {len(failed)} failed, {len(gave_up)} gave up"
    )
    if uncertain:
        detail += f", {len(uncertain)} uncertain"
    not_reached = getattr(report, "not_reached", None)
    if not_reached:
        # The scheduler is stopping: the next start resumes the send (scheduler.start).
        return JobResult("interrupted", f"{detail}; stopped before {len(not_reached)} reader(s)")
    run_job("site", trigger="after-publish")
    if _week_went_out(rt, week):
        alerts.clear(rt, "week_unsent", week)  # a failed send of it, now done
    if failed or gave_up:
        sample = "; ".join(f"{k}: {v}" for k, v in list(failed.items())[:3])
        alerts.alert(rt, "send_failures", week, f"{detail}. {sample}".strip())
    else:
        alerts.clear(rt, "send_failures", week)
    if uncertain:
        # Never resent on their own (a reader could get two copies): someone must look.
        alerts.alert(
            rt,
            "send_uncertain",
            week,
            f"{len(uncertain)} message(s) peut-être reçu(s) : {', '.join(uncertain[:3])}"
            f"{' …' if len(uncertain) > 3 else ''}. Vérifier le journal du serveur SMTP, puis "
            f"watcher send --week {week} --retry-uncertain pour les renvoyer.",
        )
    else:
        alerts.clear(rt, "send_uncertain", week)
    _digest_quietly(rt)
    # As `watcher send`'s exit status: failed while a reader may lack the bulletin.
    return JobResult("failed" if failed or gave_up or uncertain else "ok", detail)


def _retryable(rt: Runtime, week: str) -> list[str]:
    """The failed messages of ``week`` an automatic retry would resend: to active
    readers, below ``max_attempts``, not refused for good (a 5xx reply)."""
    from watcher.deliver.send import permanent_failure
    from watcher.store.delivery import list_deliveries, list_subscribers

    active = {r["id"] for r in list_subscribers(rt.store, status="active")}
    limit = rt.settings.delivery.max_attempts
    return [
        d["email"]
        for d in list_deliveries(rt.store, week=week, status="failed")
        if d["subscriber_id"] in active
        and d["attempts"] < limit
        and not permanent_failure(d["last_error"])
    ]


def _why_no_retry(rt: Runtime, week: str) -> str | None:
    """Why the failed messages of ``week`` are not retried now, if they are not."""
    following = send_slot(rt, _next_week(week))
    if following - rt.now() < CATCH_UP_MIN_GAP:
        # Readers would get two bulletins within hours; the next send goes out on time.
        return f"too close to the next send ({following:%Y-%m-%d %H:%M})"
    last = store_jobs.last_job_runs(rt.store).get("send")
    if last is not None and last["outcome"] == "running":
        return "a send is running"
    if not _retryable(rt, week):
        return "no failed message to retry"
    return None


def retry_due(rt: Runtime) -> bool:
    """The nightly check's question: has the week last sent messages to retry now?"""
    return _why_no_retry(rt, send_week_of(rt)) is None


def retry(rt: Runtime) -> JobResult:
    """Resend the failed messages of the week last sent (after the nightly ``health``).

    The same send as ``watcher send --week``, so each reader gets the week once, except
    that messages refused for good (a 5xx reply) and uncertain ones are not resent:
    those are left to the team (``watcher send --week``, ``--retry-uncertain``). Never
    within CATCH_UP_MIN_GAP of the next week's send: two bulletins within hours."""
    from watcher.deliver import send_week

    week = send_week_of(rt)
    why = _why_no_retry(rt, week)
    if why is not None:
        return JobResult("skipped", f"{week}: {why}")
    report = send_week(
        rt.store,
        week,
        rt.settings,
        retry_permanent=False,
        on_wait=lambda lock: log_event("send_waiting", logging.WARNING, week=week, lock=lock),
        stop=rt.stopping,
    )
    failed, gave_up, refused = report.failed, report.gave_up, report.refused
    detail = (
        f"{week}: {len(report.sent)} sent, {len(failed)} failed again, "
        f"{len(gave_up)} gave up, {len(refused)} refused for good (5xx, not retried)"
    )
    if report.uncertain:
        detail += f", {len(report.uncertain)} uncertain (not resent)"
    if report.not_reached:
        return JobResult("interrupted", f"{detail}; stopped before {len(report.not_reached)}")
    if _week_went_out(rt, week):
        alerts.clear(rt, "week_unsent", week)  # a send that had failed for everyone
    if failed or gave_up or refused:
        sample = "; ".join([f"{k}: {v}" for k, v in list(failed.items())[:3]] + refused[:3])
        alerts.alert(rt, "send_failures", week, f"{detail}. {sample}".strip())
    else:
        alerts.clear(rt, "send_failures", week)
    return JobResult("failed" if failed or gave_up or refused else "ok", detail)


def _catch_up_too_late(rt: Runtime, week: str, published: bool) -> JobResult | None:
    """A skipped result when sending ``week`` now would put two bulletins in the
    readers' boxes within hours: a catch-up (or a retry) close to the next send.

    The next send goes out at its time, as when several missed sends are coalesced
    into the latest; this week is reported (« Bulletins jamais envoyés ») for the team
    to send, or not. A week some readers already got is finished as it was begun."""
    from watcher.store.delivery import delivery_counts

    following = send_slot(rt, _next_week(week))
    if following - rt.now() >= CATCH_UP_MIN_GAP or any(delivery_counts(rt.store, week)[1].values()):
        return None
    if not published and rt.settings.schedule.uncurated_week == "skip":
        return None  # nothing goes out anyway: the unpublished week's own alert says so
    slot = send_slot(rt, week)
    how = _owed(rt, week)
    if how is not None:
        alerts.alert(
            rt,
            "week_unsent",
            week,
            f"le bulletin {week} n'est pas parti : son envoi du {slot:%d/%m/%Y à %H:%M}, "
            f"rattrapé trop tard (le {rt.now().astimezone(rt.tz):%d/%m/%Y à %H:%M}), "
            f"aurait précédé de peu celui du {following:%d/%m/%Y à %H:%M} ; "
            f"pour l'envoyer quand même : {how}",
        )
    return JobResult(
        "skipped",
        f"{week} not sent: its send time ({slot:%Y-%m-%d %H:%M}) is long past and the "
        f"next send is at {following:%Y-%m-%d %H:%M}; left to the team",
    )


def site(rt: Runtime) -> JobResult:
    from watcher.publish.site import build_site

    report = build_site(rt.store, rt.settings)
    figures = [
        f"{getattr(report, name)} {name}"
        for name in ("pages", "written", "removed", "items", "bulletins")
        if hasattr(report, name)
    ]
    if getattr(report, "pagefind_ran", False):
        figures.append("search index rebuilt")
    return JobResult("ok", ", ".join(figures) or str(report)[:300])


def _site_if_published(rt: Runtime) -> None:
    """The team publishes from the desk at any hour: the next tick rebuilds the archive."""
    last = store_jobs.last_publication(rt.store)
    if last is None:
        return
    built = store_jobs.last_success(rt.store, "site")
    if built is None or built < last:
        run_job("site", trigger="after-publish")


# --- nightly ------------------------------------------------------------------------------


def health(rt: Runtime) -> JobResult:
    """Sources failing or silent, disk space, the failed messages of the week last sent
    retried (``retry``), sends mended since; then the team's digest."""
    try:
        counts = alerts.check_sources(rt, _sources(rt))
    except ConfigError:  # already an alert: the digest must still go out
        counts = None
    free = alerts.check_disk(rt)
    _retry_if_due(rt)
    alerts.check_sends(rt)
    report_unsent_weeks(rt)
    sent, error = _digest_quietly(rt)
    checked = (
        f"{counts['failing']} sources failing, {counts['silent']} silent"
        if counts is not None
        else "sources.yaml invalid"
    )
    # The team's mail not going out is itself a failure: `watcher status` said "ok,
    # digest: 0 alerts" while nobody heard of the alerts waiting.
    # First, so that it shows in `watcher status`'s one-line extract of the detail.
    if error:
        return JobResult("failed", f"digest not sent: {error}; {checked}, {free:.0f}% disk free")
    return JobResult(
        "ok" if counts is not None else "failed",
        f"{checked}, {free:.0f}% disk free; digest: {sent} alerts",
    )


def _retry_if_due(rt: Runtime) -> None:
    """The ``retry`` job, when due; a check that fails (the store busy, the deliver stage
    broken) is logged: the nightly check's other work and the team's digest go on."""
    try:
        due = retry_due(rt)
    except Exception as exc:
        log_event("retry_check_failed", logging.ERROR, error=brief(exc))
        return
    if due:
        run_job("retry", trigger="after-health")


def _digest_quietly(rt: Runtime) -> tuple[int, str]:
    """(alerts sent, why none could be): the job that calls it still reports its own work."""
    try:
        return alerts.send_digest(rt), ""
    except Exception as exc:  # kept undigested: the next digest retries
        log_event("digest_failed", logging.ERROR, error=str(exc))
        return 0, brief(exc)


def digest(rt: Runtime) -> JobResult:
    return JobResult("ok", f"{alerts.send_digest(rt)} alerts sent")


def retention(rt: Runtime) -> JobResult:
    """Drop raw bodies past their age; items, labels and decisions are never purged."""
    days = rt.settings.schedule.raw_body_retention_days
    rows, size = store_jobs.drop_raw_bodies(rt.store, rt.now() - timedelta(days=days))
    pruned = store_jobs.prune_job_runs(rt.store, timedelta(days=30))
    log_event("retention", raw_bodies=rows, bytes=size, older_than_days=days)
    return JobResult(
        "ok",
        f"{rows} raw bodies older than {days} days dropped ({size} bytes); "
        f"{pruned} idle ticks forgotten",
    )


JOBS: dict[str, JobFunc] = {
    "collect": collect,
    "classify": classify,
    "draft": draft,
    "send": send,
    "site": site,
    "health": health,
    "retry": retry,
    "digest": digest,
    "retention": retention,
}
