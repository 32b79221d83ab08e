"""Candidate label inconsistencies in the training files: `python bench/classify_audit.py FIELD LABEL`.

Cross-validates the classifier as `watcher train --no-store` does (same folds)
and lists, for one label (``type actualite``, ``themes economie_circulaire``,
``axes communication``...), the training examples whose out-of-fold decision
disagrees with their label: examples carrying the label that the model scores
below ``--low``, and examples without it that it scores above ``--high``. Each
line gives the file, the id, the score, the labels and the title, so that every
candidate can be decided by LABELS.md (and by its near-identical examples), not
by what raises a figure. Issue 12 round 4 used it; see docs/classify.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher.classify.classifier import CrossValidation, Resources, cross_validate  # noqa: E402
from watcher.classify.training import training_files  # noqa: E402
from watcher.settings import Settings, load_settings  # noqa: E402


def out_of_fold(settings: Settings, resources: Resources) -> CrossValidation:
    """The training examples (each with its file), decided out of fold as
    `watcher train --no-store` does (same folds, same thresholds)."""
    examples = []
    for path in training_files(ROOT / "watcher/classifiers/training"):
        for line in path.read_text(encoding="utf-8").splitlines():
            if line.strip():
                examples.append({**json.loads(line), "_file": path.name})
    return cross_validate(examples, resources, settings, folds=5)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("field", choices=["type", "themes", "axes"])
    parser.add_argument("label")
    parser.add_argument("--low", type=float, default=0.25, help="missed below this score")
    parser.add_argument("--high", type=float, default=0.65, help="extra above this score")
    parser.add_argument("--settings", help="settings file (e.g. one with a scratch model_dir)")
    args = parser.parse_args()
    settings = load_settings(args.settings)
    resources = Resources.from_settings(settings)
    known = resources.taxonomy.ids({"type": "types"}.get(args.field, args.field))
    if args.label not in known:
        parser.error(f"{args.field}: unknown label {args.label!r} (one of {', '.join(known)})")
    cv = out_of_fold(settings, resources)
    column = cv.labels[args.field].index(args.label)
    rows = []
    for i, (example, result) in enumerate(zip(cv.examples, cv.results, strict=True)):
        gold = example["labels"]
        if not gold.get("relevant"):
            continue
        predicted = result.labels.to_dict()
        has = gold.get(args.field)
        has = has == args.label if args.field == "type" else args.label in (has or [])
        score = float(cv.scores[args.field][i, column])
        if args.field == "type":
            got = predicted.get("type") == args.label
            kind = "missed" if has and not got else "extra" if got and not has else None
        else:
            kind = (
                "missed"
                if has and score < args.low
                else "extra"
                if not has and score > args.high
                else None
            )
        if kind:
            rows.append((kind, score, example, gold, predicted))
    rows.sort(key=lambda r: (r[0], r[1] if r[0] == "missed" else -r[1]))
    for kind, score, example, gold, predicted in rows:
        shown = {k: gold.get(k) for k in ("type", "themes", "axes")}
        print(
            f"{kind:6} {score:.2f} {example['_file']} {example.get('id')} {json.dumps(shown, ensure_ascii=False)}"
        )
        if args.field == "type":
            print(f"       predicted {predicted.get('type')}")
        print(f"       {example['title'][:110]}")
    print(
        f"{sum(r[0] == 'missed' for r in rows)} missed, {sum(r[0] == 'extra' for r in rows)} extra"
    )


if __name__ == "__main__":
    main()
