"""Before a retrained model replaces the current one: how would its labels differ?

The classify stage offers ``Classifier.train(settings, overrides, save=False)``
(a candidate kept in memory, the saved model untouched) and
``Classifier.load(settings)``. Both models label the same items of the last
weeks, in the same conditions (full text, no source hints), so every
difference comes from the retraining. Adopting the candidate saves it in
``classify.model_dir`` and relabels the pending items with it; the curators'
own corrections keep winning over either model.
"""

from __future__ import annotations

import threading
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from watcher.base.clock import utcnow
from watcher.config import SourcesFile
from watcher.exceptions import ClassifierError
from watcher.settings import Settings
from watcher.store import Store

FIELDS = ("relevant", "type", "themes", "axes", "scope", "deadline")


@dataclass
class ModelPreview:
    status: str = "running"  # running | done | failed | adopted
    started_at: datetime = field(default_factory=utcnow)
    finished_at: datetime | None = None
    error: str = ""
    weeks: int = 4
    compared: int = 0
    current_version: str = ""
    candidate_version: str = ""
    examples: int = 0
    baseline_note: str = ""  # why the stored labels stand for the current model
    overrides: int = 0
    changes: list[dict[str, Any]] = field(default_factory=list)  # one per changed item
    by_field: Counter = field(default_factory=Counter)
    candidate: Any = None  # the candidate Classifier, until adopted
    inputs: str = ""
    report: dict[str, Any] = field(default_factory=dict)


def _labels_dict(result: Any) -> dict[str, Any]:
    labels = result.labels.to_dict()
    labels["themes"] = sorted(labels.get("themes") or [])
    labels["axes"] = sorted(labels.get("axes") or [])
    return labels


def diff_labels(current: dict[str, Any], candidate: dict[str, Any]) -> dict[str, tuple]:
    return {
        f: (current.get(f), candidate.get(f)) for f in FIELDS if current.get(f) != candidate.get(f)
    }


def stored_labels(store: Store, item_ids: list[int]) -> dict[int, dict[str, Any]]:
    """The model's labels as last written in the store (curators' overrides left out)."""
    from watcher.store.labels import get_labels

    out = {}
    for item_id, row in get_labels(store, item_ids).items():
        labels = dict(row.get("labels") or {})
        labels["themes"] = sorted(labels.get("themes") or [])
        labels["axes"] = sorted(labels.get("axes") or [])
        out[item_id] = labels
    return out


def recent_records(
    store: Store, weeks: int, now: datetime | None = None, sources: SourcesFile | None = None
) -> list[dict[str, Any]]:
    from watcher.store.items import iter_items

    since = (now or utcnow()) - timedelta(weeks=weeks)
    return [
        item.label_record(sources.hints_for(item.sources) if sources else None)
        for item in iter_items(store, since=since)
    ]


def compute_preview(
    store: Store,
    settings: Settings,
    weeks: int,
    *,
    sources: SourcesFile | None = None,
    classifier_cls: Any = None,
) -> ModelPreview:
    """Train a candidate (not saved) and compare its labels with the current model's."""
    if classifier_cls is None:
        from watcher.classify import Classifier as classifier_cls
    from watcher.store.labels import override_examples

    preview = ModelPreview(weeks=weeks)
    overrides = override_examples(store)
    candidate, report = classifier_cls.train(settings, overrides, save=False)
    records = recent_records(store, weeks, sources=sources)
    try:
        current = classifier_cls.load(settings, retrain=False)
    except ClassifierError as exc:
        # No usable saved model (missing, or its inputs changed): compare with the
        # labels it last wrote in the store instead, and say so.
        current = None
        preview.baseline_note = exc.message
    preview.compared = len(records)
    preview.current_version = (
        getattr(current, "version", "") if current else "étiquettes enregistrées"
    )
    preview.candidate_version = getattr(candidate, "version", "")
    preview.examples = int(report.get("examples") or 0)
    preview.overrides = len(overrides)
    titles = {r["id"]: r["title"] for r in records}
    if records:
        if current is not None:
            before = {r.id: _labels_dict(r) for r in current.label(records)}
        else:
            before = stored_labels(store, [r["id"] for r in records])
        after = {r.id: _labels_dict(r) for r in candidate.label(records)}
        for item_id in sorted(before):
            changed = diff_labels(before[item_id], after.get(item_id, {}))
            if changed:
                preview.by_field.update(changed.keys())
                preview.changes.append(
                    {"id": item_id, "title": titles.get(item_id, ""), "changes": changed}
                )
    preview.candidate = candidate
    preview.report = report
    preview.inputs = classifier_cls.inputs_hash(candidate.resources, overrides)
    return preview


class PreviewRunner:
    """One preview at a time, trained in a background thread (training takes a while)."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.current: ModelPreview | None = None
        self.thread: threading.Thread | None = None

    def start(self, store: Store, settings: Settings, weeks: int, **kwargs: Any) -> bool:
        with self.lock:
            if self.current is not None and self.current.status == "running":
                return False
            self.current = ModelPreview(weeks=weeks)
            placeholder = self.current

        def work() -> None:
            try:
                result = compute_preview(store, settings, weeks, **kwargs)
                result.started_at = placeholder.started_at
                result.status = "done"
            except Exception as exc:  # noqa: BLE001 - shown to the curator, not raised
                result = placeholder
                result.status = "failed"
                result.error = f"{type(exc).__name__}: {exc}"
            result.finished_at = utcnow()
            with self.lock:
                self.current = result

        self.thread = threading.Thread(target=work, name="model-preview", daemon=True)
        self.thread.start()
        return True

    def adopt(self, store: Store, settings: Settings, sources: SourcesFile | None = None) -> int:
        """Save the candidate as the model and relabel with it; returns items relabelled."""
        with self.lock:
            preview = self.current
            if preview is None or preview.status != "done" or preview.candidate is None:
                raise ValueError("no candidate model to adopt")
            preview.candidate.save(preview.inputs, preview.report)
            preview.status = "adopted"
        from watcher.classify import classify_pending

        return classify_pending(store, settings, sources=sources, classifier=preview.candidate)
