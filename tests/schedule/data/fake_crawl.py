"""A stand-in for the crawl child: records a run in the store as the collect stage does.

    python fake_crawl.py MODE DB SOURCE_ID...

MODE: ok (every source ok, one new item each), fail (every source failed),
hang (records the run, then waits; SIGTERM marks it interrupted and exits),
stubborn (waits and ignores SIGTERM: only SIGKILL ends it).
"""

import json
import signal
import sys
import time
from datetime import UTC, datetime

from watcher.models import CollectedItem, SourceReport
from watcher.store import Store
from watcher.store import crawl_state as state
from watcher.store.items import save_item

mode, db, ids = sys.argv[1], sys.argv[2], sys.argv[3:]
store = Store(db)
run_id = state.start_run(store, trigger="schedule")

if mode in ("hang", "stubborn"):

    def on_term(_signum, _frame):
        state.finish_run(store, run_id, "interrupted", only_if_running=True)
        sys.exit(130)

    signal.signal(signal.SIGTERM, signal.SIG_IGN if mode == "stubborn" else on_term)
    print("ready", file=sys.stderr, flush=True)
    while True:
        time.sleep(0.1)

for source_id in ids:
    now = datetime.now(UTC)
    if mode == "ok":
        url = f"http://127.0.0.1/{source_id}/{now.timestamp()}"
        save_item(store, CollectedItem(source_id=source_id, url=url, title=f"Item {source_id}"))
        report = SourceReport(source_id, "ok", http_status=200, items_found=1, items_new=1)
    else:
        report = SourceReport(
            source_id, "failed", http_status=503, error_kind="http_5xx", error_message="503"
        )
    state.record_source_run(store, run_id, report, now)
state.finish_run(store, run_id, "done")
print(json.dumps({"run_id": run_id}))
