"""`watcher schedule`: APScheduler 3 over a persistent job store, in Europe/Paris.

The job definitions come from the settings (``[schedule]``); the job store
(APScheduler's SQLAlchemy store, table ``apscheduler_jobs`` in the project's
database) remembers each job's next run time across restarts. At start a
stored job whose trigger is unchanged is kept as it is, so a run missed
while the machine was off is still due: it runs once at start if within its
misfire grace time (coalescing folds several missed slots into one), and is
otherwise logged as missed. A job whose trigger changed in the settings is
replaced.
"""

from __future__ import annotations

import logging
import re
import signal
import threading
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from apscheduler.events import EVENT_JOB_MAX_INSTANCES, EVENT_JOB_MISSED, JobEvent
from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.jobstores.sqlalchemy import SQLAlchemyJobStore
from apscheduler.schedulers.background import BackgroundScheduler
from apscheduler.triggers.base import BaseTrigger
from apscheduler.triggers.cron import CronTrigger
from apscheduler.triggers.interval import IntervalTrigger
from sqlalchemy import inspect

from watcher.collect.lock import CrawlBusy, crawl_lock
from watcher.exceptions import ConfigError, WatcherError
from watcher.schedule.alerts import alert
from watcher.schedule.logs import log_event
from watcher.schedule.runtime import FUNC_REF, Runtime, install, quietly
from watcher.settings import ScheduleSettings, weekday

JOBSTORE_TABLE = "apscheduler_jobs"
_TIME = re.compile(r"^([01]?\d|2[0-3]):([0-5]\d)$")


@dataclass(frozen=True)
class JobDef:
    id: str
    trigger: BaseTrigger
    misfire_grace_s: int
    description: str


class WallClockTrigger(CronTrigger):
    """A cron trigger that fires once at a wall time the autumn change repeats.

    On the last Sunday of October 02:00-03:00 happens twice in Europe/Paris, and
    CronTrigger fires at both: a draft or health check set at 02:30 ran twice, its
    reminder mailed twice. As cron does, the first one is kept. (A time the spring
    change skips fires once, an hour later by the clock: CronTrigger already does so.)
    """

    def get_next_fire_time(
        self, previous_fire_time: datetime | None, now: datetime
    ) -> datetime | None:
        nxt = super().get_next_fire_time(previous_fire_time, now)
        while nxt is not None and nxt.fold and nxt.utcoffset() != nxt.replace(fold=0).utcoffset():
            # In UTC: adding to a Paris time drops its fold, back to the first 02:30.
            after = (nxt.astimezone(UTC) + timedelta(seconds=1)).astimezone(nxt.tzinfo)
            nxt = super().get_next_fire_time(nxt, after)
        return nxt


def _time(s: ScheduleSettings, name: str) -> tuple[int, int]:
    value = getattr(s, name)
    match = _TIME.match(value)
    if not match:
        raise ConfigError(f"schedule.{name}: '{value}' is not a time such as 08:00")
    return int(match.group(1)), int(match.group(2))


def _day(s: ScheduleSettings, name: str) -> str:
    # Checked again: settings built in code (model_copy) skip the file's validation.
    try:
        return weekday(getattr(s, name))
    except ValueError as exc:
        raise ConfigError(f"schedule.{name}: '{getattr(s, name)}' is {exc}") from None


def timezone_of(s: ScheduleSettings) -> ZoneInfo:
    try:
        return ZoneInfo(s.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigError(f"schedule.timezone: unknown timezone '{s.timezone}'") from None


def job_definitions(s: ScheduleSettings) -> list[JobDef]:
    """The scheduled jobs; 'classify', 'site' and 'digest' run as follow-ups."""
    if s.uncurated_week not in ("automatic", "skip"):
        raise ConfigError(
            f"schedule.uncurated_week: '{s.uncurated_week}' is not one of automatic, skip"
        )
    if s.collect_check_every_min < 1:
        raise ConfigError("schedule.collect_check_every_min: must be at least 1")
    tz = timezone_of(s)
    grace = s.misfire_grace_s

    def cron(day: str | None, at: str) -> CronTrigger:
        hour, minute = _time(s, at)
        return WallClockTrigger(day_of_week=day, hour=hour, minute=minute, timezone=tz)

    return [
        JobDef(
            "collect",
            IntervalTrigger(minutes=s.collect_check_every_min, timezone=tz),
            grace,
            "crawl the sources that are due, then classify",
        ),
        JobDef(
            "draft",
            cron(_day(s, "draft_day"), "draft_time"),
            grace,
            "draft this week's bulletin, remind the curators",
        ),
        JobDef(
            "send",
            cron(_day(s, "send_day"), "send_time"),
            max(grace, s.send_misfire_grace_s),
            "publish (if the team did not) and send last week's bulletin, rebuild the site",
        ),
        JobDef(
            "health",
            cron(None, "health_check_time"),
            grace,
            "sources' health and disk space, then the alert digest",
        ),
        JobDef(
            "retention",
            cron(None, "retention_time"),
            grace,
            "drop raw bodies past their retention age",
        ),
    ]


def _trigger_key(trigger: BaseTrigger) -> tuple[Any, ...]:
    # IntervalTrigger's repr carries its start date, which differs at every start.
    if isinstance(trigger, IntervalTrigger):
        return ("interval", trigger.interval, str(trigger.timezone))
    if isinstance(trigger, CronTrigger):
        # Not the class: a CronTrigger stored by an older version means the same times,
        # and its job keeps its next run (a missed send still due) when upgraded in place.
        return ("cron", str(trigger), str(trigger.timezone))
    return (type(trigger).__name__, str(trigger), str(getattr(trigger, "timezone", "")))


def make_scheduler(
    rt: Runtime,
    *,
    persistent: bool = True,
    executor: str = "threadpool",
    scheduler_class: type = BackgroundScheduler,
) -> Any:
    jobstore = (
        # The store's engine: its SQLite pragmas (WAL, a 30 s busy timeout) also keep
        # the job store's writes from failing while a crawl child writes.
        SQLAlchemyJobStore(engine=rt.store.engine, tablename=JOBSTORE_TABLE)
        if persistent
        else MemoryJobStore()
    )
    executors = {"default": {"type": executor}}
    if executor == "threadpool":
        executors["default"]["max_workers"] = 4
    scheduler = scheduler_class(
        jobstores={"default": jobstore},
        executors=executors,
        job_defaults={"coalesce": True, "max_instances": 1},
        timezone=timezone_of(rt.settings.schedule),
    )

    def on_event(event: JobEvent) -> None:
        if event.code == EVENT_JOB_MISSED:
            log_event(
                "job_missed",
                logging.WARNING,
                job=event.job_id,
                scheduled=event.scheduled_run_time.isoformat(),
            )
            # A log line alone went unseen: a bulletin not sent for a week said nothing
            # to the team, nor in `watcher status`.
            quietly(
                alert,
                rt,
                "job_missed",
                event.job_id,
                _missed(rt, event.job_id, event.scheduled_run_time),
            )
        elif event.code == EVENT_JOB_MAX_INSTANCES:
            log_event("job_still_running", logging.WARNING, job=event.job_id)

    scheduler.add_listener(on_event, EVENT_JOB_MISSED | EVENT_JOB_MAX_INSTANCES)
    return scheduler


def _missed(rt: Runtime, job: str, scheduled: datetime) -> str:
    """What the team reads about a run missed beyond its grace, and what to do."""
    when = scheduled.astimezone(timezone_of(rt.settings.schedule)).strftime("%d/%m/%Y à %H:%M")
    if job == "send":
        from watcher.schedule.jobs import send_week_of

        return (
            f"le bulletin {send_week_of(rt)} n'est pas parti (envoi prévu le {when}) ; "
            "« watcher run send » l'envoie maintenant"
        )
    return f"prévue le {when}, non lancée ; « watcher run {job} » la lance maintenant"


def sync_jobs(scheduler: Any, definitions: list[JobDef]) -> list[str]:
    """Bring the stored jobs in line with the definitions; keep unchanged ones as stored."""
    changed = []
    wanted = {d.id for d in definitions}
    for job in scheduler.get_jobs():
        if job.id not in wanted:
            scheduler.remove_job(job.id)
            changed.append(f"-{job.id}")
    for d in definitions:
        job = scheduler.get_job(d.id)
        same = (
            job is not None
            and job.func_ref == FUNC_REF
            and tuple(job.args) == (d.id,)
            and _trigger_key(job.trigger) == _trigger_key(d.trigger)
            and job.next_run_time is not None
        )
        if same:
            if job.misfire_grace_time != d.misfire_grace_s:
                scheduler.modify_job(d.id, misfire_grace_time=d.misfire_grace_s)
            if type(job.trigger) is not type(d.trigger):
                scheduler.modify_job(d.id, trigger=d.trigger)  # its next run time is kept
            continue
        extra: dict[str, Any] = {}
        if d.id == "collect" and job is None:
            # A fresh install collects at once rather than one interval later.
            extra["next_run_time"] = datetime.now(scheduler.timezone)
        scheduler.add_job(
            FUNC_REF,
            d.trigger,
            args=[d.id],
            **extra,
            id=d.id,
            name=d.id,
            replace_existing=True,
            misfire_grace_time=d.misfire_grace_s,
            coalesce=True,
            max_instances=1,
        )
        changed.append(f"+{d.id}")
    return changed


def start(
    rt: Runtime,
    *,
    persistent: bool = True,
    executor: str = "threadpool",
    scheduler_class: type = BackgroundScheduler,
) -> Any:
    """Install the runtime, open the job store, sync the jobs, and start running them."""
    from watcher.store.jobs import interrupt_running_jobs

    definitions = job_definitions(rt.settings.schedule)
    install(rt)
    interrupted = interrupt_running_jobs(rt.store)
    scheduler = make_scheduler(
        rt, persistent=persistent, executor=executor, scheduler_class=scheduler_class
    )
    scheduler.start(paused=True)
    changed = sync_jobs(scheduler, definitions)
    log_event(
        "scheduler_start",
        timezone=rt.settings.schedule.timezone,
        jobs=len(definitions),
        changed=",".join(changed) or "none",
        interrupted_runs=interrupted,
    )
    _resume_interrupted_send(rt, scheduler, definitions)
    # Told at start, not at the next send a week away: the weeks that missed runs,
    # coalesced into the latest one, dropped without a word.
    from watcher.schedule.jobs import report_unsent_weeks

    report_unsent_weeks(rt)
    for job in scheduler.get_jobs():
        log_event("job_next", job=job.id, next_run=_fmt(job.next_run_time))
    scheduler.resume()  # runs what is due now, missed runs included (once, within grace)
    return scheduler


RESUME_SEND = "send-resume"


def _resume_interrupted_send(rt: Runtime, scheduler: Any, definitions: list[JobDef]) -> None:
    """A send cut short (the scheduler stopped or died mid-run) goes on at start.

    Its next scheduled run is a week away: the readers it had not reached yet would
    never get the bulletin. Sending is idempotent per reader and edition, so the
    send job runs again now, once, when the interrupted run started within the send's
    misfire grace time (and the stored send is not due now anyway)."""
    from watcher.store.jobs import last_job_runs

    last = last_job_runs(rt.store).get("send")
    if last is None or last["outcome"] != "interrupted":
        return
    grace = next(d.misfire_grace_s for d in definitions if d.id == "send")
    now = datetime.now(scheduler.timezone)
    if last["started_at"] < now - timedelta(seconds=grace):
        return
    stored = scheduler.get_job("send")
    if stored is not None and stored.next_run_time is not None and stored.next_run_time <= now:
        return  # a missed send: it runs now anyway
    scheduler.add_job(
        FUNC_REF,
        "date",
        run_date=now,
        args=["send", "resume"],
        id=RESUME_SEND,
        name=RESUME_SEND,
        replace_existing=True,
        misfire_grace_time=grace,
    )
    log_event("send_resume", started=last["started_at"].isoformat(timespec="seconds"))


def _fmt(moment: datetime | None) -> str:
    return moment.isoformat(timespec="seconds") if moment else "paused"


def run_forever(rt: Runtime, stop: threading.Event | None = None) -> None:
    """Run until SIGTERM/SIGINT, then stop cleanly: crawl children get SIGTERM, running
    jobs finish or stop at a safe point, and the job store is left consistent."""
    stop = stop or threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        log_event("signal", signal=signal.Signals(signum).name)
        stop.set()

    def on_hangup(_signum: int, _frame: Any) -> None:
        # SIGHUP's default ends the process on the spot, mid-send or mid-crawl, and
        # systemd does not restart a service a SIGHUP ended: the watch just stopped
        # (a logrotate script or `kill -HUP` meant as "reload" was enough).
        log_event(
            "signal",
            logging.WARNING,
            signal="SIGHUP",
            action="ignored: settings are read at start, restart to apply them "
            "(systemctl restart watcher)",
        )

    lock = rt.schedule_lock_path
    try:
        with crawl_lock(lock):
            previous = {
                sig: signal.signal(sig, on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
            }
            previous[signal.SIGHUP] = signal.signal(signal.SIGHUP, on_hangup)
            scheduler = start(rt)
            try:
                while not stop.wait(1.0):
                    pass
            finally:
                log_event("scheduler_stopping")
                rt.stop()
                scheduler.shutdown(wait=True)
                install(None)
                for sig, handler in previous.items():
                    signal.signal(sig, handler)
                log_event("scheduler_stopped")
    except CrawlBusy:
        raise WatcherError(
            f"another `watcher schedule` is running on this database ({lock} is held)",
            hint="stop it first (systemctl stop watcher), or use `watcher run JOB` for one job",
        ) from None


def list_jobs(rt: Runtime, now: datetime | None = None) -> list[dict[str, Any]]:
    """Each defined job with its next run time: the stored one, else as it would be."""
    definitions = job_definitions(rt.settings.schedule)
    tz = timezone_of(rt.settings.schedule)
    now = now or datetime.now(tz)
    stored: dict[str, Any] = {}
    # Listing only reads: the job store's start would create its table, a write that
    # fails on a read-only database (and a scheduler that never ran stored nothing).
    if inspect(rt.store.engine).has_table(JOBSTORE_TABLE):
        scheduler = make_scheduler(rt)
        scheduler.start(paused=True)
        try:
            stored = {job.id: job for job in scheduler.get_jobs()}
        finally:
            scheduler.shutdown(wait=False)
    rows = []
    for d in definitions:
        job = stored.get(d.id)
        if job is not None and _trigger_key(job.trigger) == _trigger_key(d.trigger):
            next_run, state = job.next_run_time, "stored"
        else:
            next_run, state = d.trigger.get_next_fire_time(None, now), "not started yet"
        rows.append(
            {
                "job": d.id,
                "next_run": next_run.astimezone(tz) if next_run else None,
                "trigger": str(d.trigger),
                "state": state,
                "description": d.description,
            }
        )
    return rows
