"""CLI commands of the classify stage (registered on `watcher.cli.main`)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import click

from watcher.classify.corpus import read_jsonl, text_lines
from watcher.cli import App, common_options, handle_errors, main, pass_app

_BATCH = 256


@main.command("label")
@common_options
@click.option("--explain", is_flag=True, help="add the explanations of every label")
@pass_app
@handle_errors
def label_command(app: App, explain: bool) -> None:
    """Label JSON Lines items from stdin to stdout (no store needed).

    Each input line: {"id", "title", "text", optional "url", "published",
    "hints"}. Each output line: {"id", "labels", "scores"}. A bad line is
    reported on stderr with its number and skipped; the exit status is then 1.
    """
    from watcher.classify import Classifier

    classifier = Classifier.load(app.settings)
    bad = 0
    batch: list[dict[str, Any]] = []

    def flush() -> None:
        for result in classifier.label(batch):
            out = result.to_dict()
            if explain:
                out["explanations"] = result.explanations
            sys.stdout.write(json.dumps(out, ensure_ascii=False, default=str) + "\n")
        sys.stdout.flush()
        batch.clear()

    for _number, record in read_jsonl(text_lines(sys.stdin.buffer), "stdin"):
        if isinstance(record, str):
            click.echo(f"Error: {record}", err=True)
            bad += 1
            continue
        batch.append(record)
        if len(batch) >= _BATCH:
            flush()
    flush()
    if bad:
        click.echo(f"{bad} line(s) could not be labelled", err=True)
        sys.exit(1)


@main.command("classify")
@common_options
@click.option("--retrain", is_flag=True, help="retrain the model before labelling")
@click.option(
    "--all", "scan_all", is_flag=True, help="check every item (after editing sources' hints)"
)
@pass_app
@handle_errors
def classify_command(app: App, retrain: bool, scan_all: bool) -> None:
    """Label every unlabelled or outdated item in the store."""
    from watcher.classify import Classifier, classify_pending

    settings = app.settings
    store = app.store
    if retrain:
        from watcher.store.labels import override_examples

        classifier, _report = Classifier.train(settings, override_examples(store))
    else:
        classifier = Classifier.load(settings, store)
    sources = app.optional_sources()
    if sources is None:
        click.echo("Warning: no sources file, so the sources' label hints are not used", err=True)
    count = classify_pending(
        store, settings, sources=sources, classifier=classifier, scan_all=scan_all
    )
    click.echo(f"{count} item(s) labelled with model {classifier.version}")


def _print_summary(summary: dict[str, Any], title: str) -> None:
    click.echo(title)
    for key, value in summary.items():
        click.echo(f"  {key:<20} {value}")


@main.command("train")
@common_options
@click.option("--no-store", is_flag=True, help="learn from the training files only")
@click.option("--json", "as_json", is_flag=True, help="print the report as JSON")
@pass_app
@handle_errors
def train_command(app: App, no_store: bool, as_json: bool) -> None:
    """Rebuild the model from watcher/classifiers/training/ and the curators' corrections."""
    from watcher.classify import Classifier

    overrides = None
    if not no_store:
        from watcher.store.labels import override_examples

        overrides = override_examples(app.store)
    _classifier, report = Classifier.train(app.settings, overrides)
    if as_json:
        click.echo(json.dumps(report, ensure_ascii=False, indent=2, default=str))
        return
    click.echo(
        f"Trained model {report['model_version']} on {report['examples']} examples "
        f"({report['overrides']} curators' corrections, {report['skipped_not_french']} "
        f"not in French skipped) in {report['seconds']} s; saved in "
        f"{app.settings.classify.model_dir}"
    )
    if report.get("cv"):
        _print_summary(report["cv"]["summary"], f"Cross-validated ({report['cv']['folds']} folds):")
    else:
        click.echo("Too few examples to train: the lexicons alone decide.")


@main.command("evaluate")
@common_options
@click.option(
    "--corpus",
    required=True,
    type=click.Path(exists=True, dir_okay=False, allow_dash=True, path_type=Path),
    help="labelled JSON Lines (LABELS.md corpus format); - for stdin",
)
@click.option("--json", "as_json", is_flag=True, help="print the figures as JSON")
@pass_app
@handle_errors
def evaluate_command(app: App, corpus: Path, as_json: bool) -> None:
    """Precision, recall and F1 per label, the type confusion matrix, the summary figures
    of every field, and events' dates and place when the corpus gives them."""
    from watcher.base.taxonomy import taxonomy_for
    from watcher.classify import Classifier
    from watcher.classify.corpus import load_corpus
    from watcher.classify.metrics import summarize

    # The corpus is checked before the model is loaded (or trained): a bad line says so
    # at once.
    from_stdin = str(corpus) == "-"
    name = Path("stdin") if from_stdin else corpus
    lines = text_lines(sys.stdin.buffer) if from_stdin else None
    records = load_corpus(name, taxonomy_for(app.settings), lines)
    classifier = Classifier.load(app.settings)
    taxonomy = classifier.resources.taxonomy
    gold = [{**r["labels"], "event": r["event"]} if "event" in r else r["labels"] for r in records]
    results = classifier.label(records)
    figures = summarize(gold, [r.labels.to_dict() for r in results], taxonomy)
    if as_json:
        click.echo(json.dumps(figures, ensure_ascii=False, indent=2))
        return
    for field_name, labels in figures["per_label"].items():
        click.echo(f"{field_name}:")
        click.echo(f"  {'label':<22}{'precision':>10}{'recall':>8}{'F1':>7}{'support':>9}")
        for label, v in labels.items():
            click.echo(
                f"  {label:<22}{v['precision']:>10.3f}{v['recall']:>8.3f}{v['f1']:>7.3f}"
                f"{v['support']:>9}"
            )
    _print_confusion(figures["type_confusion"])
    _print_summary(figures["summary"], f"Summary ({name.name}, model {classifier.version}):")
    if figures.get("events"):
        _print_summary(figures["events"], "Events (items whose corpus line gives `event`):")


def _print_confusion(confusion: dict[str, dict[str, int]]) -> None:
    """Rows: the corpus's type; columns: the model's (or not relevant at all)."""
    if not confusion:
        return
    columns = list(next(iter(confusion.values())))
    click.echo("type confusion (rows: corpus, columns: predicted):")
    click.echo(f"  {'':<16}" + "".join(f"{c[:9]:>10}" for c in columns))
    for gold_type, row in confusion.items():
        click.echo(f"  {gold_type:<16}" + "".join(f"{row[c]:>10}" for c in columns))
