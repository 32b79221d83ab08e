"""Delivery bench: a 2,000-subscriber dry run (messages/s, peak memory), and a
loopback SMTP run for comparison.

    .venv/bin/python bench/deliver.py [--subscribers 2000] [--smtp 300]

Baseline measured in the same run: writing the same number of already-built
.eml files (the I/O floor), so the ratio says what building costs on top.
"""

from __future__ import annotations

import argparse
import random
import sys
import tempfile
import threading
import time
import tracemalloc
from datetime import UTC, datetime
from pathlib import Path

import psutil

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from tests.desk.builder import WEEK, build_store  # noqa: E402
from watcher.base.taxonomy import load_taxonomy  # noqa: E402
from watcher.deliver import send_week  # noqa: E402
from watcher.publish.bulletin import publish_bulletin  # noqa: E402
from watcher.settings import Settings  # noqa: E402
from watcher.store import Store  # noqa: E402
from watcher.store.delivery import insert_subscriber  # noqa: E402

BEFORE = datetime(2026, 11, 1, tzinfo=UTC)
THEMES = load_taxonomy().ids("themes")
TYPES = load_taxonomy().ids("types")


class RssSampler:
    """Peak resident memory of this process, sampled every 10 ms."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._proc = psutil.Process()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, self._proc.memory_info().rss)
            time.sleep(0.01)

    def __enter__(self) -> RssSampler:
        self.peak = self._proc.memory_info().rss
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def fill(store: Store, count: int, seed: int = 48) -> None:
    rng = random.Random(seed)
    for n in range(count):
        themes = sorted(rng.sample(THEMES, rng.choice([0, 1, 1, 2, 2, 3])))
        types = sorted(rng.sample(TYPES, 2)) if rng.random() < 0.1 else []
        scopes = ["grand_est"] if rng.random() < 0.15 else []
        insert_subscriber(
            store,
            email=f"abonne{n:05d}@example.org",
            name=f"Abonné·e n°{n}",
            themes=themes,
            types=types,
            scopes=scopes,
            created_at=BEFORE,
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--subscribers", type=int, default=2000)
    parser.add_argument("--smtp", type=int, default=300, help="messages of the SMTP run (0: skip)")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        tmp = Path(folder)
        store = Store(tmp / "bench.db")
        build_store(store)
        fill(store, args.subscribers)
        settings = Settings.model_validate(
            {
                "publish": {
                    "output_dir": str(tmp / "out"),
                    "public_url": "https://veille.example.org/",
                }
            }
        )
        publish_bulletin(store, WEEK, "bench", settings)

        with RssSampler() as rss:
            started = time.perf_counter()
            report = send_week(store, WEEK, settings, dry_run=True, out_dir=tmp / "dry")
            elapsed = time.perf_counter() - started
        written = len(report.written)
        # A second run under tracemalloc (which slows Python down) for the heap's peak.
        tracemalloc.start()
        send_week(store, WEEK, settings, dry_run=True, out_dir=tmp / "dry2")
        _current, traced_peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()

        # Baseline: write the same files again, already built (the I/O floor).
        blobs = [p.read_bytes() for p in report.written]
        floor_dir = tmp / "floor"
        floor_dir.mkdir()
        started = time.perf_counter()
        for n, blob in enumerate(blobs):
            (floor_dir / f"{n}.eml").write_bytes(blob)
        floor = time.perf_counter() - started
        size = sum(len(b) for b in blobs) / max(1, written)

        print(
            f"dry run: {args.subscribers} subscribers, {written} messages written, "
            f"{len(report.skipped_empty)} with nothing this week"
        )
        print(
            f"dry run: {elapsed:.2f} s, {written / elapsed:.0f} messages/s, "
            f"mean message {size / 1024:.1f} KiB"
        )
        print(
            f"peak memory: RSS {rss.peak / 2**20:.0f} MiB (process), "
            f"Python allocations {traced_peak / 2**20:.1f} MiB (tracemalloc, second run)"
        )
        print(
            f"baseline (writing the built files only): {floor:.3f} s; "
            f"dry run / baseline = {elapsed / floor:.1f}x"
        )
        if args.smtp:
            smtp_run(tmp, args.smtp)


def smtp_run(tmp: Path, count: int) -> None:
    from aiosmtpd.controller import Controller

    class Sink:
        received = 0

        async def handle_DATA(self, server, session, envelope):  # noqa: ANN001, N802
            Sink.received += 1
            return "250 OK"

    class Ephemeral(Controller):
        def _trigger_server(self) -> None:
            self.port = self.server.sockets[0].getsockname()[1]
            super()._trigger_server()

    controller = Ephemeral(Sink(), hostname="127.0.0.1", port=0)
    controller.start()
    try:
        store = Store(tmp / "smtp.db")
        build_store(store)
        fill(store, count, seed=7)
        settings = Settings.model_validate(
            {
                "delivery": {
                    "smtp_host": "127.0.0.1",
                    "smtp_port": controller.port,
                    "smtp_security": "none",
                    "rate_per_minute": 10_000_000,
                },
                "publish": {"output_dir": str(tmp / "out2")},
            }
        )
        publish_bulletin(store, WEEK, "bench", settings)
        started = time.perf_counter()
        report = send_week(store, WEEK, settings)
        elapsed = time.perf_counter() - started
        print(
            f"loopback SMTP: {len(report.sent)} sent in {elapsed:.2f} s, "
            f"{len(report.sent) / elapsed:.0f} messages/s (with the delivery log, one "
            f"commit before and after each message); server received {Sink.received}"
        )
    finally:
        controller.stop()


if __name__ == "__main__":
    main()
