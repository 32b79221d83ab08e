"""CLI commands of the schedule stage: schedule, run, status, backup."""

from __future__ import annotations

from pathlib import Path

import click

from watcher.cli import App, common_options, creates_database, handle_errors, main, pass_app
from watcher.exceptions import WatcherError


def _runtime(app: App):  # noqa: ANN202 - watcher.schedule.Runtime
    from watcher.schedule import make_runtime
    from watcher.schedule.scheduler import timezone_of

    # Checked before the store opens: a bad setting leaves no new database behind.
    timezone_of(app.settings.schedule)
    return make_runtime(
        app.store, app.settings, sources_path=app.sources_path, settings_path=app.settings_path
    )


def _logging(app: App, log_json: bool | None, console: bool = True) -> None:
    from watcher.schedule.logs import setup_logging

    s = app.settings.schedule
    setup_logging(
        s.log_file,
        json_lines=s.log_json if log_json is None else log_json,
        timezone=s.timezone,
        max_bytes=s.log_max_bytes,
        backups=s.log_backups,
        console=console,
    )


@main.command()
@click.option("--list", "list_only", is_flag=True, help="print each job and its next run time")
@click.option("--log-json/--log-text", default=None, help="JSON log lines [default: setting]")
@common_options
@pass_app
@handle_errors
@creates_database
def schedule(app: App, list_only: bool, log_json: bool | None) -> None:
    """Run the watch unattended (until SIGTERM), or list the jobs with --list."""
    from watcher.schedule import list_jobs, run_forever
    from watcher.schedule.scheduler import job_definitions

    app.writes_database = not list_only  # listing reads: a read-only database will do
    job_definitions(app.settings.schedule)  # the settings first: no database for a bad one
    rt = _runtime(app)
    if list_only:
        for row in list_jobs(rt):
            when = row["next_run"].strftime("%a %Y-%m-%d %H:%M %Z") if row["next_run"] else "-"
            note = "" if row["state"] == "stored" else f"  ({row['state']})"
            click.echo(f"{row['job']:<10} {when:<26} {row['description']}{note}")
        return
    _logging(app, log_json)
    run_forever(rt)


@main.command("run")
@click.argument("job")
@click.option("--log-json/--log-text", default=None, help="JSON log lines [default: setting]")
@common_options
@pass_app
@handle_errors
@creates_database
def run_command(app: App, job: str, log_json: bool | None) -> None:
    """Run one job now (collect, classify, draft, send, site, health, retry, digest,
    retention)."""
    from watcher.schedule.jobs import JOBS
    from watcher.schedule.runtime import install, run_job

    if job not in JOBS:  # before the store: a typo leaves no new database behind
        raise click.BadParameter(f"unknown job '{job}'; known: {', '.join(JOBS)}", param_hint="JOB")
    rt = _runtime(app)
    _logging(app, log_json)
    install(rt)
    try:
        outcome = run_job(job, trigger="manual")
    finally:
        install(None)
    if outcome not in ("ok", "skipped"):
        raise WatcherError(f"job {job}: {outcome} (see the log: {app.settings.schedule.log_file})")


@main.command()
@common_options
@pass_app
@handle_errors
def status(app: App) -> None:
    """Last run of each job, next runs, store size, items this week, retention, alerts."""
    from watcher.schedule import list_jobs
    from watcher.schedule.ops import human_bytes
    from watcher.schedule.ops import status as get_status

    rt = _runtime(app)
    info = get_status(app.store, app.settings, list_jobs(rt))
    tz = info["now"].tzinfo

    def when(moment) -> str:  # noqa: ANN001
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M") if moment else "-"

    click.echo(f"watcher status at {info['now']:%Y-%m-%d %H:%M %Z}")
    click.echo("\nJobs (last run → outcome; next run):")
    nexts = {row["job"]: row["next_run"] for row in info["next_runs"]}
    names = list(nexts) + [j for j in info["jobs"] if j not in nexts]
    for name in names:
        last = info["jobs"].get(name)
        done = f"{when(last['started_at'])} → {last['outcome']}" if last else "never run"
        detail = f"  {last['detail'][:70]}" if last and last["detail"] else ""
        click.echo(f"  {name:<10} {done:<30} next {when(nexts.get(name))}{detail}")
    st = info["store"]
    click.echo(f"\nStore: {st['url']} ({human_bytes(st['bytes'])})")
    click.echo(f"  raw bodies kept: {st['raw_bodies']} ({human_bytes(st['raw_bodies_bytes'])})")
    click.echo(f"Items first seen this week: {info['items_this_week']}")
    r = info["retention"]
    click.echo(
        f"Retention: {r['rows_dropped']} raw bodies dropped in {r['runs']} runs, "
        f"{human_bytes(r['bytes_dropped'])} saved (last {when(r['last'])})"
    )
    week, counts = info["last_send"]
    if week is None:
        click.echo("Last send: none")
    else:
        from watcher.cli.deliver_commands import delivery_figures

        click.echo(
            f"Last send: {week}: {delivery_figures(counts)} (watcher deliveries --week {week})"
        )
    alerts = info["alerts"]
    click.echo(f"Open alerts: {len(alerts)}")
    for row in alerts[:20]:
        click.echo(f"  [{row['kind']}] {row['subject']}: {row['detail'][:90]}")


@main.command()
@click.option(
    "--to",
    "to",
    type=click.Path(path_type=Path, file_okay=False),
    help="folder to write [default: schedule.backup_dir/<timestamp>]",
)
@common_options
@pass_app
@handle_errors
def backup(app: App, to: Path | None) -> None:
    """Write a consistent copy of the database and the classifier's model."""
    from watcher.schedule.ops import backup as do_backup
    from watcher.schedule.ops import human_bytes

    report = do_backup(app.store, app.settings, to)
    click.echo(
        f"Backup in {report.folder}: database {human_bytes(report.database_bytes)}, "
        f"{report.model_files} model files"
    )
    for note in report.notes:
        click.echo(f"  note: {note}")
