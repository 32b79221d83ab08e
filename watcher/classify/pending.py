"""Label what the store holds that is unlabelled or outdated."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from watcher.classify.prepare import input_hash
from watcher.config import SourcesFile
from watcher.settings import ClassifySettings, Settings
from watcher.store import Store

if TYPE_CHECKING:  # the model code loads only when labelling
    from watcher.classify.classifier import Classifier

log = logging.getLogger(__name__)


def classify_pending(
    store: Store,
    settings: Settings | ClassifySettings,
    *,
    sources: SourcesFile | None = None,
    batch: int = 500,
    classifier: Classifier | None = None,
    scan_all: bool = False,
) -> int:
    """Label items with no labels, labels from another model version or a changed text.

    ``sources`` (the loaded sources.yaml) lends each source's hints as priors.
    ``scan_all`` checks every item, not only those seen or changed since
    labelled (after editing the sources' hints). Returns how many items were
    (re)labelled.
    """
    from watcher.classify.classifier import Classifier
    from watcher.store.labels import confirm_labels, pending_items, save_labels

    classifier = classifier or Classifier.load(settings, store)
    done = 0
    after_id = 0
    while True:
        rows = pending_items(
            store, classifier.version, after_id=after_id, limit=batch, scan_all=scan_all
        )
        if not rows:
            break
        after_id = rows[-1]["id"]
        records, hashes, unchanged = [], [], []
        for row in rows:
            record = {k: row.get(k) for k in ("id", "title", "text", "summary", "published")}
            hints = sources.hints_for(row.get("sources") or []) if sources else {}
            if hints:
                record["hints"] = hints
            h = input_hash(record)
            if row.get("input_hash") == h and row.get("model_version") == classifier.version:
                unchanged.append(row["id"])
                continue
            records.append(record)
            hashes.append(h)
        if unchanged:
            confirm_labels(store, unchanged)  # not checked again until seen again
        if not records:
            continue
        results = classifier.label(records)
        save_labels(store, results, model_version=classifier.version, input_hashes=hashes)
        done += len(results)
        log.info("labelled %d items", done)
    return done
