"""The bundled offline demo: a fake web of French sources served on 127.0.0.1, and
`run_demo()`, which runs the real pipeline over it into its own folder.

Re-running is idempotent by recreation: each run deletes the demo database
(``output/demo/watcher.db``), its sources file, bulletins and e-mails, then
rebuilds everything from the demo web of the day (the site is rebuilt in
place). The trained model under ``output/demo/model`` is kept, so later runs
skip the training. A folder holding a ``watcher.db`` the demo did not create
is refused, so ``--output output`` cannot wipe a real database.

The pipeline is a list of steps; each calls the public function of a stage
(see docs/architecture.md) and returns one line for the summary.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from watcher.config import SourcesFile
from watcher.demo.render import DEMO_API_KEY, build_site
from watcher.demo.server import DemoServer, paris_today
from watcher.demo.sources import DEMO_KEY_ENV, demo_sources, write_demo_sources
from watcher.exceptions import ConfigError, WatcherError
from watcher.settings import Settings
from watcher.store import Store

__all__ = [
    "DEMO_API_KEY",
    "DemoContext",
    "DemoResult",
    "DemoServer",
    "build_site",
    "demo_sources",
    "run_demo",
    "write_demo_sources",
]

DEFAULT_OUTPUT = Path("output/demo")
CURATOR = ("curatrice", "demo-veille-eit")  # the demo desk account: a public demo password
SUBSCRIBERS = (
    (
        "animatrice.aube@example.org",
        "Animatrice EIT de l'Aube",
        ["dechets_ressources", "territoire"],
    ),
    ("energie.moselle@example.org", "Chargé de mission énergie", ["energie", "decarbonation"]),
    ("eau.alsace@example.org", "Référente eau", ["eau", "economie_circulaire"]),
)


SITE_PORT = 8000  # where the README serves the demo's site
SITE_URL = f"http://127.0.0.1:{SITE_PORT}/"


@dataclass
class DemoContext:
    """What the steps share: paths, settings, the open store, the demo week."""

    output_dir: Path
    base_url: str
    sources_path: Path
    db_path: Path
    settings: Settings
    week: str
    store: Store | None = None
    sources: SourcesFile | None = None
    notes: list[str] = field(default_factory=list)  # lines printed after the summary
    progress: bool = False
    settings_path: Path | None = None  # the demo's settings, for `watcher serve --settings`


@dataclass
class DemoResult:
    output_dir: Path
    db_path: Path
    sources_path: Path
    week: str
    steps: list[tuple[str, str, float]] = field(default_factory=list)  # (step, summary, seconds)
    notes: list[str] = field(default_factory=list)
    collect_report: Any = None


Step = tuple[str, Callable[[DemoContext, DemoResult], str]]


def _collect(ctx: DemoContext, result: DemoResult) -> str:
    from watcher.collect import run_collect

    report = run_collect(
        ctx.sources, db=ctx.store, settings=ctx.settings, trigger="demo", progress=ctx.progress
    )
    result.collect_report = report
    new = sum(s.items_new for s in report.sources)
    failed = [f"{s.source_id} ({s.error_kind})" for s in report.failed]
    line = f"{len(report.sources)} sources, {new} new items"
    if failed:
        line += f"; failed as designed: {', '.join(failed)}"
    return line


def _classify(ctx: DemoContext, _result: DemoResult) -> str:
    from watcher.classify import classify_pending

    count = classify_pending(ctx.store, ctx.settings, sources=ctx.sources)
    return f"{count} items labelled"


def _accounts(ctx: DemoContext, _result: DemoResult) -> str:
    from watcher.base.taxonomy import taxonomy_for
    from watcher.deliver import add_subscriber
    from watcher.desk.accounts import create_user

    create_user(ctx.store, *CURATOR)
    # Subscribed before the demo week began, so the week's bulletin is theirs to receive.
    since = datetime.now().astimezone() - timedelta(days=8)
    for email, name, themes in SUBSCRIBERS:
        add_subscriber(
            ctx.store,
            email,
            name,
            themes=themes,
            created_at=since,
            taxonomy=taxonomy_for(ctx.settings),
        )
    ctx.notes.append(
        f"Desk: `watcher serve --db {ctx.db_path} --settings {ctx.settings_path} "
        f"--sources {ctx.sources_path}` (account {CURATOR[0]} / {CURATOR[1]}; its "
        f"publications rebuild {ctx.settings.publish.site_dir})"
    )
    return f"curator '{CURATOR[0]}' and {len(SUBSCRIBERS)} subscribers"


def _publish(ctx: DemoContext, _result: DemoResult) -> str:
    from watcher.publish.bulletin import publish_bulletin

    edition = publish_bulletin(ctx.store, ctx.week, CURATOR[0], ctx.settings)
    return f"week {ctx.week} published (edition {edition})"


def _bulletin(ctx: DemoContext, _result: DemoResult) -> str:
    from watcher.publish.bulletin import write_bulletin

    paths = write_bulletin(ctx.store, ctx.week, ctx.settings)
    return f"{len(paths)} files for week {ctx.week}"


def _site(ctx: DemoContext, _result: DemoResult) -> str:
    from watcher.publish.site import build_site as build_archive

    report = build_archive(ctx.store, ctx.settings)
    site_dir = Path(ctx.settings.publish.site_dir)
    ctx.notes.append(
        f"Site: serve it with `python -m http.server {SITE_PORT} --bind 127.0.0.1 --directory {site_dir}` "
        f"and open {SITE_URL}"
    )
    return f"{report.pages} pages, {report.items} items, search index {'built' if report.pagefind_ran else 'skipped'}"


def _send(ctx: DemoContext, _result: DemoResult) -> str:
    from watcher.deliver import send_week

    report = send_week(ctx.store, ctx.week, ctx.settings, dry_run=True, out_dir=ctx.output_dir)
    if report.written:
        ctx.notes.append(f"E-mails (dry run): {Path(report.written[0]).parent}")
    return f"{len(report.written)} messages written as .eml (dry run)"


STEPS: list[Step] = [
    ("collect", _collect),
    ("classify", _classify),
    ("accounts", _accounts),
    ("publish", _publish),
    ("bulletin", _bulletin),
    ("site", _site),
    ("send --dry-run", _send),
]


# Announced before they run, because they take a while.
STARTING = {
    "collect": "crawling the demo web…",
    "classify": "labelling (the first run also trains the model)…",
}


def write_demo_settings(settings: Settings, path: Path) -> Path:
    """The demo's settings as a file beside its database, so that the desk served on
    the demo (`watcher serve --settings` it) publishes into the demo's own site."""
    from watcher.settings import settings_toml

    header = [
        "# Settings of the demo, written by `watcher demo` at every run:",
        f"#   watcher serve --db {path.parent / 'watcher.db'} --settings {path}",
    ]
    path.write_text(settings_toml(settings, header), encoding="utf-8")
    return path


def demo_settings(output_dir: Path, settings: Settings | None = None) -> Settings:
    """The settings of the demo: the user's (or the defaults), with every output under output_dir."""
    settings = settings or Settings()
    # The site is served where the demo's closing note says (SITE_URL), so the e-mails'
    # "Version en ligne" and the feeds' links lead to it.
    publish = settings.publish.model_copy(
        update={
            "output_dir": output_dir,
            "site_dir": output_dir / "site",
            "public_url": settings.publish.public_url or SITE_URL,
        }
    )
    classify = settings.classify.model_copy(update={"model_dir": output_dir / "model"})
    # The demo web is our own loopback server: per-host politeness delays would only make
    # the demo slow (one host stands for a dozen sites), so they are relaxed here.
    fast = {
        "download_delay_s": 0.0,
        "autothrottle": False,
        "concurrent_per_host": 8,
        "crawl_log": None,
    }
    fields = type(settings.collect).model_fields
    collect_update = {k: v for k, v in fast.items() if k in fields}
    if "crawl_log" in collect_update:
        collect_update["crawl_log"] = output_dir / "logs" / "crawl.log"
    collect = settings.collect.model_copy(update=collect_update)
    # The e-mails' links (unsubscribe, manage, List-Unsubscribe) lead to `watcher serve`
    # on this machine, so the demo's messages can be followed through.
    desk = settings.desk
    if not desk.public_url:
        desk = desk.model_copy(update={"public_url": f"http://127.0.0.1:{desk.port}/"})
    return settings.model_copy(
        update={"publish": publish, "classify": classify, "collect": collect, "desk": desk}
    )


MARKER = ".watcher-demo"  # marks a folder the demo owns, so a re-run may clear it


def _fresh_folder(output_dir: Path) -> None:
    """Remove what a previous demo run generated; refuse a folder the demo does not own."""
    marker = output_dir / MARKER
    if (output_dir / "watcher.db").exists() and not marker.exists():
        raise ConfigError(
            f"{output_dir}: holds a watcher.db that the demo did not create",
            hint="choose another folder with --output; the demo recreates its folder at every run",
        )
    output_dir.mkdir(parents=True, exist_ok=True)
    marker.write_text("Generated by `watcher demo`; deleted and rebuilt at every run.\n")
    for suffix in ("", "-wal", "-shm", "-journal"):
        Path(f"{output_dir / 'watcher.db'}{suffix}").unlink(missing_ok=True)
    (output_dir / "demo-sources.yaml").unlink(missing_ok=True)
    (output_dir / "watcher.toml").unlink(missing_ok=True)
    for folder in ("bulletins", "mail"):  # the site is rebuilt in place; the model is kept
        shutil.rmtree(output_dir / folder, ignore_errors=True)


def run_demo(
    output_dir: Path | str = DEFAULT_OUTPUT,
    *,
    settings: Settings | None = None,
    steps: list[Step] | None = None,
    echo: Callable[[str], None] = print,
    progress: bool = False,
) -> DemoResult:
    """Serve the demo web, point a sources file at it and run the pipeline into output_dir."""
    from watcher.base.weeks import week_of
    from watcher.config import load_sources

    output_dir = Path(output_dir)
    db_path = output_dir / "watcher.db"
    sources_path = output_dir / "demo-sources.yaml"
    _fresh_folder(output_dir)
    week = week_of(paris_today())
    result = DemoResult(output_dir, db_path, sources_path, week)
    previous_key = os.environ.get(DEMO_KEY_ENV)
    os.environ[DEMO_KEY_ENV] = DEMO_API_KEY  # the crawl child inherits it
    try:
        with DemoServer() as base_url:
            write_demo_sources(base_url, sources_path)
            echo(f"Demo web served at {base_url} (offline, 127.0.0.1)")
            ctx = DemoContext(
                output_dir=output_dir,
                base_url=base_url,
                sources_path=sources_path,
                db_path=db_path,
                settings=demo_settings(output_dir, settings),
                week=week,
                progress=progress,
            )
            ctx.sources = load_sources(sources_path)
            # Absolute paths in the file: the desk may be started from another folder.
            ctx.settings_path = write_demo_settings(
                demo_settings(output_dir.resolve(), settings), output_dir / "watcher.toml"
            )
            ctx.store = Store(db_path)
            try:
                for name, step in steps if steps is not None else STEPS:
                    if name in STARTING:
                        echo(f"  {name:<15} {STARTING[name]}")
                    started = time.monotonic()
                    try:
                        line = step(ctx, result)
                    except WatcherError as exc:
                        kind = ConfigError if isinstance(exc, ConfigError) else WatcherError
                        raise kind(f"demo step '{name}': {exc.message}", hint=exc.hint) from exc
                    except (KeyboardInterrupt, SystemExit):
                        raise
                    except Exception as exc:
                        # Later steps build on this one: stop, and say which step broke.
                        raise WatcherError(
                            f"demo step '{name}' failed: {type(exc).__name__}: {exc}",
                            hint=f"the steps before it are in {output_dir}",
                        ) from exc
                    elapsed = time.monotonic() - started
                    result.steps.append((name, line, elapsed))
                    echo(f"  {name:<15} {line} ({elapsed:.1f} s)")
            finally:
                ctx.store.close()
            result.notes = ctx.notes
    finally:
        if previous_key is None:
            os.environ.pop(DEMO_KEY_ENV, None)
        else:
            os.environ[DEMO_KEY_ENV] = previous_key
    return result
