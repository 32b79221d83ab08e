"""Desk bench: a curator's triage of the demo week, counted in page loads and bytes.

    .venv/bin/python bench/desk.py [--actions 60] [--modes js,nojs]

The demo pipeline (collect, classify, accounts; no publication) fills a database
once, cached under output/bench-desk/. Each mode then works on a fresh copy of
it, through the real desk (uvicorn on 127.0.0.1) in headless Chromium:

1. open the week page;
2. keep or drop the first ``--actions`` cards (two kept, one dropped, in turn);
3. move five kept items up in their section (▲);
4. correct the themes of three items.

It counts the main-frame page loads and the bytes that came over the wire
(headers and bodies of every response: pages, fragments, iframe, assets).
Baseline in the same run: the same triage with JavaScript off, where every
action is a form POST followed by a full page load (what ▲▼ always did, and
keep/drop on the first change of a week, before the triage view).
Run it on another checkout with PYTHONPATH=that/checkout to measure that code.

    .venv/bin/python bench/desk.py --body [--megabytes 200]

starts `watcher serve` in a child process and posts a 200 MB urlencoded form
to /connexion (announced with Content-Length, then sent chunked): the server's
resident memory before and after each, and the answer it gave.

    .venv/bin/python bench/desk.py --scale [--items 30000] [--weeks 150]
        [--subscribers 500] [--decisions 4000] [--repeat 5]

builds (once, cached) a few years' archive and times each page a curator opens,
with the SQL statements it ran (an N+1 shows as a count growing with the rows),
then `watcher status`, `deliveries`, `sources check`, `export`, `site build`.
"""

from __future__ import annotations

import argparse
import re
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

CACHE = ROOT / "output" / "bench-desk"
USER, PASSWORD = "curatrice", "demo-veille-eit"


def demo_database() -> tuple[Path, str]:
    """The demo's collected and labelled database (built once), and its week."""
    from watcher.base.weeks import week_of
    from watcher.demo import STEPS, run_demo
    from watcher.demo.server import paris_today

    week = week_of(paris_today())
    db = CACHE / "watcher.db"
    stamp = CACHE / "week.txt"
    if not (db.exists() and stamp.exists() and stamp.read_text() == week):
        steps = [s for s in STEPS if s[0] in ("collect", "classify", "accounts")]
        run_demo(CACHE, steps=steps, echo=lambda line: print(f"  demo: {line}"))
        stamp.write_text(week)
    return db, week


def serve(db: Path, output: Path):  # noqa: ANN201 - (server, thread, url)
    import uvicorn

    from watcher.desk.app import create_app
    from watcher.settings import Settings
    from watcher.store import Store

    settings = Settings.model_validate(
        {"publish": {"output_dir": str(output), "site_dir": str(output / "site")}}
    )
    app = create_app(Store(db), settings)
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=0, log_level="warning"))
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    while not server.started:
        time.sleep(0.02)
    port = server.servers[0].sockets[0].getsockname()[1]
    return server, thread, f"http://127.0.0.1:{port}"


class Meter:
    """Page loads and bytes of one page, and a wait for the network to go quiet."""

    def __init__(self, page) -> None:  # noqa: ANN001
        self.page = page
        self.loads = 0
        self.bytes = 0
        self.requests = 0
        self.in_flight = 0
        page.on("request", self._started)
        page.on("requestfinished", self._finished)
        page.on("requestfailed", self._failed)
        page.on("framenavigated", self._navigated)

    def _started(self, _request) -> None:  # noqa: ANN001
        self.in_flight += 1

    def _finished(self, request) -> None:  # noqa: ANN001
        self.in_flight -= 1
        self.requests += 1
        sizes = request.sizes()
        self.bytes += sizes["responseBodySize"] + sizes["responseHeadersSize"]

    def _failed(self, _request) -> None:  # noqa: ANN001
        self.in_flight -= 1

    def _navigated(self, frame) -> None:  # noqa: ANN001
        if frame == self.page.main_frame:
            self.loads += 1

    def reset(self) -> None:
        self.loads = self.bytes = self.requests = 0

    def settle(self) -> None:
        """Until no request has been in flight for 150 ms and the page is loaded."""
        quiet_since = None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            self.page.wait_for_timeout(25)
            busy = self.in_flight > 0 or self.page.locator(".item.saving").count() > 0
            if busy:
                quiet_since = None
            elif quiet_since is None:
                quiet_since = time.monotonic()
            elif time.monotonic() - quiet_since > 0.15:
                self.page.wait_for_load_state()
                return


def triage(url: str, week: str, javascript: bool, actions: int) -> dict[str, float]:
    from playwright.sync_api import sync_playwright

    from tests.shared import launch_chromium

    with sync_playwright() as playwright:
        browser = launch_chromium(playwright)
        context = browser.new_context(
            viewport={"width": 1280, "height": 900}, java_script_enabled=javascript
        )
        page = context.new_page()
        page.set_default_timeout(30_000)
        page.on("dialog", lambda dialog: dialog.accept())
        meter = Meter(page)
        page.goto(f"{url}/connexion")
        page.fill("input[name=username]", USER)
        page.fill("input[name=password]", PASSWORD)
        page.click("form[action='/connexion'] button[type=submit]")
        page.wait_for_url("**/semaine/**")
        meter.settle()
        meter.reset()
        started = time.monotonic()

        page.goto(f"{url}/semaine/{week}")
        meter.settle()
        ids = page.eval_on_selector_all("article.item", "cards => cards.map(c => c.id)")
        done = 0
        for n, card_id in enumerate(ids[:actions]):
            wanted = "button.drop" if n % 3 == 2 else "button.keep"
            button = page.locator(f"#{card_id} {wanted}")
            if button.count() == 0:
                continue  # already in that state
            button.first.click()
            meter.settle()
            done += 1
        moves = 0
        for _ in range(5):
            up = page.locator("article.item button[name=direction][value=up]")
            if up.count() < 2:
                break
            up.nth(1).click()
            meter.settle()
            moves += 1
        edits = 0
        for card_id in ids[:3]:
            card = page.locator(f"#{card_id}")
            if card.locator("a.edit-link").count():  # the triage view: the editor on demand
                card.locator("a.edit-link").click()
                meter.settle()
                card = page.locator(f"#{card_id}") if javascript else page
            else:  # the desk before it: the forms were in every card
                card.locator("details.edit summary", has_text="étiquettes").first.click()
            box = card.locator("form.labels-form input[name=themes]").first
            box.set_checked(not box.is_checked())
            card.locator("form.labels-form button").first.click()
            meter.settle()
            edits += 1
            if not javascript and "/modifier" in page.url:
                page.goto(f"{url}/semaine/{week}")  # (never reached: the form redirects back)
        elapsed = time.monotonic() - started
        result = {
            "cards": len(ids),
            "actions": done + moves + edits,
            "loads": meter.loads,
            "bytes": meter.bytes,
            "requests": meter.requests,
            "seconds": elapsed,
        }
        context.close()
        browser.close()
    return result


def _free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _post_big(port: int, megabytes: int, chunked: bool) -> str:
    """Send a big form; the first line of the answer (or what happened)."""
    import socket

    total = megabytes * 1024 * 1024
    head = (
        "POST /connexion HTTP/1.1\r\nHost: 127.0.0.1\r\n"
        "Content-Type: application/x-www-form-urlencoded\r\n"
        + ("Transfer-Encoding: chunked\r\n" if chunked else f"Content-Length: {total}\r\n")
        + "\r\n"
    ).encode()
    block = b"a=" + b"x" * (1024 * 1024 - 2)
    sent = 0
    with socket.create_connection(("127.0.0.1", port), timeout=60) as sock:
        sock.sendall(head)
        try:
            while sent < total:
                piece = block if not chunked else b"%x\r\n%s\r\n" % (len(block), block)
                sock.sendall(piece)
                sent += len(block)
            if chunked:
                sock.sendall(b"0\r\n\r\n")
        except (BrokenPipeError, ConnectionResetError):
            pass  # the server answered and closed before the end: what we want
        try:
            answer = sock.recv(200).split(b"\r\n", 1)[0].decode() or "connection closed"
        except (ConnectionResetError, TimeoutError) as exc:
            answer = type(exc).__name__
    return f"{answer} after {sent / 2**20:.0f} MB sent"


def body_bench(megabytes: int) -> None:
    import os
    import subprocess
    import tempfile

    import psutil

    with tempfile.TemporaryDirectory() as folder:
        port = _free_port()
        env = {**os.environ, "WATCHER_SETTINGS": "", "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
        child = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "watcher",
                "--db",
                f"{folder}/w.db",
                "serve",
                "--port",
                str(port),
            ],
            env=env,
            cwd=ROOT,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    __import__("socket").create_connection(("127.0.0.1", port), timeout=1).close()
                    break
                except OSError:
                    time.sleep(0.2)
            server = psutil.Process(child.pid)
            time.sleep(1)
            for chunked in (False, True):
                before = server.memory_info().rss
                peak = [before]
                done = threading.Event()

                def sample(peak: list[int] = peak, done: threading.Event = done) -> None:
                    while not done.is_set():
                        peak[0] = max(peak[0], server.memory_info().rss)
                        time.sleep(0.02)

                sampler = threading.Thread(target=sample, daemon=True)
                sampler.start()
                started = time.monotonic()
                answer = _post_big(port, megabytes, chunked)
                elapsed = time.monotonic() - started
                time.sleep(1)
                done.set()
                sampler.join()
                after = server.memory_info().rss
                how = "chunked" if chunked else "Content-Length"
                print(
                    f"{megabytes} MB form to /connexion ({how}): {answer} in {elapsed:.1f} s; "
                    f"server RSS {before / 2**20:.0f} MiB before, peak {peak[0] / 2**20:.0f} MiB, "
                    f"{after / 2**20:.0f} MiB after"
                )
        finally:
            child.terminate()
            child.wait(timeout=30)


# -- an archive of a few years (--scale) ------------------------------------------


def scale_database(args: argparse.Namespace) -> tuple[Path, str]:
    """A store as the watch's will be after ``--weeks`` weeks (built once, cached under
    output/bench-desk/scale-…/): ``--items`` items from the repository's sources.yaml
    sources, every past week curated (``--decisions`` decisions in all) and published,
    ``--subscribers`` subscribers each sent every bulletin, two crawls a day and the
    scheduler's daily jobs. Returns the database and the current (draft) week."""
    import random
    from datetime import UTC, datetime, timedelta

    from sqlalchemy import insert

    from bench.deliver import fill as fill_subscribers
    from tests.publish import factory
    from watcher.base.weeks import week_of
    from watcher.config import load_sources
    from watcher.desk.accounts import create_user
    from watcher.publish.bulletin import candidates, publish_bulletin
    from watcher.settings import Settings
    from watcher.store import Store
    from watcher.store.bulletins import bulletin_entries
    from watcher.store.crawl_state import upsert_sources
    from watcher.store.delivery import deliveries, list_subscribers
    from watcher.store.desk import decisions
    from watcher.store.jobs import job_runs
    from watcher.store.labels import set_override
    from watcher.store.schema import crawl_runs, source_runs

    now = datetime.now(UTC).replace(microsecond=0)
    week = week_of(now.date())
    from watcher.store import _head_revision

    # The schema's revision in the name: a store built by a newer checkout would be
    # refused by an older one (run on another checkout with PYTHONPATH=that/checkout).
    name = f"scale-{args.items}-{args.weeks}-{args.subscribers}-{args.decisions}-{week}-"
    name += _head_revision()
    folder = CACHE / name
    db = folder / "watcher.db"
    if db.exists():
        return db, week
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    started = time.perf_counter()
    store = Store(folder / "building.db")
    catalogue = load_sources(ROOT / "sources.yaml").sources
    upsert_sources(store, catalogue)
    ids = [s.id for s in catalogue]
    rng = random.Random(17)
    start = now - timedelta(weeks=args.weeks)
    specs = factory.generated_specs(args.items, start, now - timedelta(hours=1))
    for spec in specs:
        spec["sources"] = rng.sample(ids, rng.choice([1, 1, 1, 2]))
    factory.add_items(store, specs)
    print(f"  scale: {args.items} items in {time.perf_counter() - started:.0f} s", flush=True)
    create_user(store, USER, PASSWORD)
    fill_subscribers(store, args.subscribers)
    subscribers = list_subscribers(store)

    settings = Settings()
    weeks = sorted({week_of(s["first_seen"].date()) for s in specs} - {week})
    per_week = max(1, args.decisions // max(1, len(weeks)))
    corrected = 0
    for n, past in enumerate(weeks):
        when = datetime.fromisocalendar(*map(int, past.replace("W", "").split("-")), 4)
        when = when.replace(hour=15, tzinfo=UTC)
        chosen = [c["id"] for c in candidates(store, past, settings)][:per_week]
        entry_rows, decision_rows = [], []
        for k, item_id in enumerate(chosen):
            status = "dropped" if k % 4 == 3 else "kept"
            entry_rows.append({"week": past, "item_id": item_id, "status": status,
                               "pinned": k == 0, "position": k, "updated_at": when,
                               "updated_by": USER})  # fmt: skip
            decision_rows.append({"at": when + timedelta(seconds=k), "user": USER, "week": past,
                                  "item_id": item_id, "field": "kept", "before": None,
                                  "after": status == "kept"})  # fmt: skip
        with store.begin() as conn:
            if entry_rows:
                conn.execute(insert(bulletin_entries), entry_rows)
                conn.execute(insert(decisions), decision_rows)
        if chosen and n % 3 == 0:  # a correction of the model now and then
            set_override(store, chosen[-1], {"themes": ["eau"]}, USER)
            corrected += 1
        publish_bulletin(store, past, USER, settings)
        sent = when + timedelta(days=4)
        with store.begin() as conn:
            conn.execute(
                insert(deliveries),
                [
                    {
                        "week": past,
                        "edition": 1,
                        "subscriber_id": s["id"],
                        "email": s["email"],
                        "status": "failed" if i % 97 == 0 else "sent",
                        "attempts": 1,
                        "message_id": f"<{past}.{s['id']}@bench>",
                        "items": 12,
                        "created_at": sent,
                        "updated_at": sent,
                        "sent_at": sent,
                    }  # fmt: skip
                    for i, s in enumerate(subscribers)
                ],
            )
    print(
        f"  scale: {len(weeks)} weeks curated and published, {corrected} corrections, "
        f"{len(subscribers) * len(weeks)} deliveries in {time.perf_counter() - started:.0f} s",
        flush=True,
    )
    day = start
    with store.begin() as conn:
        while day < now:
            for hour in (6, 18):
                at = day.replace(hour=hour)
                run = conn.execute(
                    insert(crawl_runs).values(started_at=at, finished_at=at, status="done")
                ).inserted_primary_key[0]
                conn.execute(
                    insert(source_runs),
                    [
                        {
                            "run_id": run,
                            "source_id": sid,
                            "started_at": at,
                            "status": "failed" if rng.random() < 0.03 else "ok",
                            "duration_s": 1.0,
                            "items_found": 10,
                            "items_new": 1,
                        }  # fmt: skip
                        for sid in ids
                    ],
                )
            conn.execute(
                insert(job_runs),
                [
                    {
                        "job_id": job,
                        "started_at": day.replace(hour=h),
                        "outcome": "ok",
                        "finished_at": day.replace(hour=h, minute=5),
                    }  # fmt: skip
                    for job, h in (
                        ("collect", 6),
                        ("classify", 7),
                        ("collect", 18),
                        ("classify", 19),
                        ("site", 20),
                        ("health", 21),
                    )
                ],
            )
            day += timedelta(days=1)
    store.close()
    (folder / "building.db").rename(db)
    print(f"  scale: built in {time.perf_counter() - started:.0f} s ({db})", flush=True)
    return db, week


class QueryCounter:
    """The SQL statements the store's engine runs, counted (for N+1 queries)."""

    def __init__(self, engine) -> None:  # noqa: ANN001
        from sqlalchemy import event

        self.count = 0
        event.listen(engine, "before_cursor_execute", self._seen)

    def _seen(self, *_args: object) -> None:
        self.count += 1


def scale_bench(args: argparse.Namespace) -> None:
    """Each desk page a curator opens, then the CLI's commands, on the big store."""
    import os
    import statistics
    import subprocess
    import tempfile
    from datetime import date, timedelta

    from tests.desk.conftest import desk_client, log_in
    from watcher.base.weeks import week_of
    from watcher.config import load_sources
    from watcher.desk.app import create_app
    from watcher.settings import Settings
    from watcher.store import Store

    db, week = scale_database(args)
    work = Path(tempfile.mkdtemp(prefix="bench-desk-scale-"))
    copy = work / "watcher.db"
    shutil.copy(db, copy)
    store = Store(copy)
    settings = Settings.model_validate(
        {"publish": {"output_dir": str(work / "output"), "site_dir": str(work / "site")}}
    )
    sources = load_sources(ROOT / "sources.yaml")
    counter = QueryCounter(store.engine)
    client = desk_client(create_app(store, settings, sources))
    assert log_in(client, USER, PASSWORD).status_code == 303, "sign-in failed"
    page = client.get(f"/semaine/{week}")
    item = re.search(r"/element/(\d+)/modifier", page.text)
    item_id = item.group(1) if item else "1"
    past = week_of(
        date.fromisocalendar(*map(int, week.replace("W", "").split("-")), 1) - timedelta(days=7)
    )
    pages = [
        ("home (sign-in lands)", "/"),
        ("week", f"/semaine/{week}"),
        ("week, one theme", f"/semaine/{week}?theme=energie"),
        ("week, open calls", f"/semaine/{week}?type=appel_a_projets"),
        ("item editor", f"/semaine/{week}/element/{item_id}/modifier"),
        ("journal", f"/semaine/{week}/journal"),
        ("past week (published)", f"/semaine/{past}"),
        ("past week's journal", f"/semaine/{past}/journal"),
        ("preview", f"/semaine/{week}/apercu"),
        ("search (frequent)", "/recherche?q=chaleur"),
        ("search (rare)", "/recherche?q=hydrogène+friche"),
        ("subscribers", "/abonnes"),
        ("sources", "/sources"),
        ("model", "/modele"),
    ]
    print(f"\ndesk pages on {db.name} (in-process TestClient, median of {args.repeat}):")
    print(f"{'page':<24}{'status':>7}{'ms':>9}{'queries':>9}{'KiB':>8}")
    for label, path in pages:
        times = []
        for _ in range(args.repeat):
            before = counter.count
            t = time.perf_counter()
            answer = client.get(path, follow_redirects=False)
            times.append((time.perf_counter() - t) * 1000)
            queries = counter.count - before
        print(f"{label:<24}{answer.status_code:>7}{statistics.median(times):>9.0f}"
              f"{queries:>9}{len(answer.content) / 1024:>8.0f}")  # fmt: skip
    store.close()

    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    toml = work / "watcher.toml"
    toml.write_text(f'[publish]\noutput_dir = "{work / "output"}"\nsite_dir = "{work / "site"}"\n')
    base = [sys.executable, "-m", "watcher", "--db", str(copy), "--settings", str(toml),
            "--sources", str(ROOT / "sources.yaml")]  # fmt: skip
    commands = [
        ("version (startup)", ["--version"]),
        ("status", ["status"]),
        ("deliveries", ["deliveries"]),
        ("sources check", ["sources", "check"]),
        ("export jsonl", ["export", "--format", "jsonl", "-o", str(work / "export.jsonl")]),
        ("export csv", ["export", "--format", "csv", "-o", str(work / "export.csv")]),
    ] + [(f"site build ({n})", ["site", "build"]) for n in ("first", "again")]
    print("\ncommands (a new process each, imports included):")
    try:
        for label, command in commands:
            t = time.perf_counter()
            done = subprocess.run(base + command, env=env, cwd=work, capture_output=True, text=True)
            print(f"{label:<24}{done.returncode:>7}{(time.perf_counter() - t):>9.1f} s"
                  + (f"  {done.stderr.strip()[-200:]}" if done.returncode else ""))  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)  # the copy, its site and exports: ~400 MB


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--actions", type=int, default=60, help="cards kept or dropped")
    parser.add_argument("--modes", default="nojs,js", help="nojs (baseline), js, or both")
    parser.add_argument("--body", action="store_true", help="the 200 MB form instead")
    parser.add_argument("--megabytes", type=int, default=200)
    parser.add_argument("--scale", action="store_true", help="a few years' archive instead")
    parser.add_argument("--items", type=int, default=30_000, help="with --scale")
    parser.add_argument("--weeks", type=int, default=150, help="with --scale")
    parser.add_argument("--subscribers", type=int, default=500, help="with --scale")
    parser.add_argument("--decisions", type=int, default=4000, help="with --scale")
    parser.add_argument("--repeat", type=int, default=5, help="with --scale")
    args = parser.parse_args()
    if args.scale:
        scale_bench(args)
        return
    if args.body:
        body_bench(args.megabytes)
        return
    db, week = demo_database()
    results = {}
    for mode in args.modes.split(","):
        work = CACHE / f"run-{mode}"
        shutil.rmtree(work, ignore_errors=True)
        work.mkdir(parents=True)
        copy = work / "watcher.db"
        shutil.copy(db, copy)
        server, thread, url = serve(copy, work / "output")
        try:
            results[mode] = triage(url, week, mode == "js", args.actions)
        finally:
            server.should_exit = True
            thread.join(timeout=10)
        r = results[mode]
        print(
            f"{mode:>5}: week {week}, {r['cards']} cards, {r['actions']} actions: "
            f"{r['loads']} page loads, {r['bytes'] / 1024:.0f} KiB over {r['requests']} "
            f"requests, {r['seconds']:.1f} s ({r['bytes'] / max(1, r['actions']) / 1024:.1f} "
            "KiB per action)"
        )
    if "js" in results and "nojs" in results:
        js, base = results["js"], results["nojs"]
        print(
            f"js / nojs baseline: page loads {js['loads']} vs {base['loads']}, "
            f"bytes {js['bytes'] / base['bytes']:.3f}x ({base['bytes'] / js['bytes']:.1f} times fewer)"
        )


if __name__ == "__main__":
    main()
