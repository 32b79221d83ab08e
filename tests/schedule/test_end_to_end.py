"""A week of the demo web in accelerated time: the real stages under the scheduler.

The scheduler's clock is time-machine's (the parent process jumps from one due
time to the next); the crawl children run in real time, so the demo sources are
given a two-week interval: one crawl at start, as on a fresh install, then the
week's jobs at their Paris times. Mail goes to aiosmtpd on 127.0.0.1.
"""

from __future__ import annotations

import logging
from datetime import datetime, time, timedelta
from pathlib import Path

import pytest
import time_machine
import yaml

from tests.shared import make_settings
from watcher.base.weeks import week_dates, week_of
from watcher.deliver import add_subscriber
from watcher.demo import DEMO_API_KEY, DemoServer, demo_settings, write_demo_sources
from watcher.demo.sources import DEMO_KEY_ENV
from watcher.schedule import make_runtime
from watcher.schedule.logs import remove_handlers, setup_logging
from watcher.schedule.runtime import Runtime, install, run_job
from watcher.schedule.scheduler import start
from watcher.settings import Settings
from watcher.store import Store
from watcher.store import jobs as store_jobs
from watcher.store.items import iter_items

from .conftest import PARIS, Clock, ManualScheduler

pytestmark = pytest.mark.slow

KEEP = ("demo-agence", "demo-eau", "demo-region-aap", "demo-panne-500")
SUBSCRIBERS = (
    ("animatrice.aube@example.org", ["dechets_ressources", "territoire"]),
    ("energie.moselle@example.org", ["energie", "decarbonation"]),
    ("eau.alsace@example.org", ["eau", "economie_circulaire"]),
)


def _next(moment: datetime, weekday: int, hour: int) -> datetime:
    """The first given weekday at hour:00 (Paris) strictly after moment."""
    day = moment.astimezone(PARIS).date()
    for offset in range(0, 8):
        candidate = datetime.combine(day + timedelta(days=offset), datetime.min.time(), PARIS)
        candidate = candidate.replace(hour=hour)
        if candidate.weekday() == weekday and candidate > moment:
            return candidate
    raise AssertionError("unreachable")


@pytest.fixture
def model_dir(request, tmp_path) -> Path:  # noqa: ANN001
    # Training takes a minute; the model is cached across runs and Classifier.load
    # retrains it by itself when the training data or the libraries change.
    cache = getattr(request.config, "cache", None)
    return Path(cache.mkdir("watcher-schedule-model")) if cache else tmp_path / "model"


def _start_with_a_crawl(
    root: Path, sources_path: Path, base_settings: Settings, model_dir: Path
) -> tuple[Store, Runtime, ManualScheduler, datetime]:
    """A fresh install at the real now: subscribers, the scheduler, and its first crawl."""
    settings = demo_settings(root / "out", base_settings)
    settings = settings.model_copy(
        update={"classify": settings.classify.model_copy(update={"model_dir": model_dir})}
    )
    store = Store(root / "watcher.db")
    rt = make_runtime(store, settings, sources_path=sources_path)
    begin = datetime.now(PARIS).replace(second=0, microsecond=0)
    with time_machine.travel(begin, tick=False):
        for email, themes in SUBSCRIBERS:
            add_subscriber(store, email, themes=themes)
        scheduler = start(rt, executor="debug", scheduler_class=ManualScheduler)
    Clock(scheduler).at(begin)  # the collect due at once runs the crawl, to its end
    return store, rt, scheduler, begin


def test_a_demo_week_in_accelerated_time(tmp_path, smtp, monkeypatch, model_dir):
    inbox, port = smtp
    monkeypatch.setenv(DEMO_KEY_ENV, DEMO_API_KEY)
    log_file = tmp_path / "logs" / "watcher.log"
    base = make_settings(
        tmp_path,
        smtp_port=port,
        schedule={"curators_email": "curateurs@example.org", "failing_runs_alert": 1},
    )
    handlers = setup_logging(log_file, console=False)
    try:
        with DemoServer() as base_url:
            sources_path = write_demo_sources(base_url, tmp_path / "sources.yaml")
            data = yaml.safe_load(sources_path.read_text(encoding="utf-8"))
            data["sources"] = [
                {**s, "check_every": "2w"} for s in data["sources"] if s["id"] in KEEP
            ]
            sources_path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")

            # The scheduler's clock is frozen while the crawl child runs on the real one:
            # its items are first seen when it saves them, a minute before Monday 00:00
            # (Paris) or after it. The week is theirs, and the fake clock goes on from
            # then. A crawl that ran across midnight split its items between two weeks:
            # a fresh install again, a week away from the next midnight.
            for attempt in ("first", "again"):
                first_mail = len(inbox.messages)
                store, rt, scheduler, begin = _start_with_a_crawl(
                    tmp_path / attempt, sources_path, base, model_dir
                )
                seen = [item.first_seen for item in iter_items(store)]
                assert seen, "the crawl saved no item"
                weeks = {week_of(moment) for moment in seen}
                if len(weeks) == 1:
                    break
                scheduler.shutdown(wait=False)
            assert len(weeks) == 1, weeks
            [week] = weeks
            resume = max(begin, max(seen).astimezone(PARIS))
            # Until both the next Thursday's draft and the Monday send of the week the
            # crawl's items were first seen in have run.
            draft_at = _next(resume, 3, 14)
            send_at = datetime.combine(week_dates(week)[0] + timedelta(days=7), time(8, 0), PARIS)
            end = max(draft_at, send_at) + timedelta(hours=1)
            Clock(scheduler).run(resume, end, step_min=60)

            # Then a restart and a second, manual send the same morning: nothing twice.
            scheduler.shutdown(wait=False)
            with time_machine.travel(end + timedelta(minutes=30), tick=False):
                again = start(rt, executor="debug", scheduler_class=ManualScheduler)
                again._process_jobs()
                install(rt)
                assert run_job("send", trigger="manual") in ("ok", "skipped")
            again.shutdown(wait=False)
    finally:
        logging.getLogger(__name__).info("log kept at %s", log_file)
        remove_handlers(handlers)

    runs = store_jobs.job_history(store, limit=5000)
    outcomes = {(r["job_id"], r["outcome"]) for r in runs}
    failures = [(r["job_id"], r["detail"]) for r in runs if r["outcome"] == "failed"]
    for job in ("collect", "classify", "draft", "send", "site"):
        assert (job, "ok") in outcomes, (job, failures)
    crawls = store_jobs.crawl_runs_since(store, begin - timedelta(days=1))
    assert len(crawls) == 1  # one crawl for all the due sources

    by_rcpt: dict[str, list] = {}
    envelopes, messages = inbox.envelopes[first_mail:], inbox.messages[first_mail:]
    for (_sender, rcpts), msg in zip(envelopes, messages, strict=True):
        for rcpt in rcpts:
            by_rcpt.setdefault(rcpt, []).append(msg)
    reminders = by_rcpt.get("curateurs@example.org", [])
    assert len(reminders) == 1 and "Brouillon du bulletin" in reminders[0]["Subject"]
    digests = by_rcpt.get("equipe@example.org", [])
    assert len(digests) == 1, [m["Subject"] for m in digests]
    assert "demo-panne-500" in digests[0].get_content()
    print(digests[0]["Subject"], digests[0].get_content(), sep="\n")  # for the closing note
    # Each subscriber got the bulletin at most once, and the bulletin did go out.
    bulletins = {email: by_rcpt.get(email, []) for email, _ in SUBSCRIBERS}
    assert all(len(mails) <= 1 for mails in bulletins.values()), bulletins
    assert sum(len(m) for m in bulletins.values()) >= 1
    sent = [r for r in runs if r["job_id"] == "send" and r["outcome"] == "ok"]
    assert any(r["detail"].startswith(week) and " 0 sent" not in r["detail"] for r in sent)
    # The manual send after the restart found that week already sent.
    assert sent[0]["trigger"] == "manual" and " 0 sent" in sent[0]["detail"]
    assert "0 already sent" not in sent[0]["detail"]

    text = log_file.read_text(encoding="utf-8")
    assert "event=crawl_done" in text and "event=digest_sent" in text
    assert "event=reminder_sent" in text and "event=published" in text
