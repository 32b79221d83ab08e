"""The scheduler's crawl child: ``python -m watcher.schedule.crawl_child --db URL -- ID…``.

Runs one crawl through the collect stage's ``run_collect`` over the given
source ids and prints ``{"run_id": N}`` on stdout; the scheduler reads the
details from the store. It is a separate process so the scheduler can stop
or kill it (see ``watcher.schedule.crawl``); SIGTERM stops the crawl at a safe
point, as a Ctrl-C does for ``watcher collect``.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys


def _interrupt(_signum: int, _frame: object) -> None:
    # run_collect stops its Scrapy process cleanly on KeyboardInterrupt (SIGINT to
    # Scrapy, the run marked interrupted), so SIGTERM from the scheduler becomes one.
    raise KeyboardInterrupt


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="watcher.schedule.crawl_child")
    parser.add_argument("--db", required=True)
    parser.add_argument("--sources")
    parser.add_argument("--settings")
    parser.add_argument("ids", nargs="*")
    args = parser.parse_args(argv)
    signal.signal(signal.SIGTERM, _interrupt)

    from watcher.collect import run_collect
    from watcher.config import load_sources
    from watcher.settings import load_settings

    sources = load_sources(args.sources)
    settings = load_settings(args.settings)
    selected = sources.enabled(only=args.ids or None)
    try:
        report = run_collect(selected, db=args.db, settings=settings, trigger="schedule")
    except KeyboardInterrupt:
        print(json.dumps({"interrupted": True}))
        return 130
    print(json.dumps({"run_id": report.run_id, "sources": len(report.sources)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
