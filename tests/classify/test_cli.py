"""The `watcher label` and `watcher evaluate` contracts, through the real CLI."""

import json
from pathlib import Path

from click.testing import CliRunner

from watcher.cli import main


def _settings_file(tmp_path: Path, settings) -> Path:  # noqa: ANN001
    path = tmp_path / "watcher.toml"
    path.write_text(
        "[classify]\n"
        f'model_dir = "{settings.classify.model_dir}"\n'
        f'training_dir = "{settings.classify.training_dir}"\n'
        "cv_folds = 3\n"
    )
    return path


def test_label_contract(tmp_path: Path, trained_settings) -> None:
    lines = [
        {"id": "a", "title": "Appel à projets chaleur fatale",
         "text": "Date limite de dépôt : 15 mars 2026. Région Grand Est.", "url": "https://x"},
        {"id": 7, "title": "Le club de football gagne le match", "text": "Victoire en championnat."},
    ]  # fmt: skip
    stdin = "\n".join(json.dumps(line, ensure_ascii=False) for line in lines) + "\n"
    result = CliRunner().invoke(
        main, ["label", "--settings", str(_settings_file(tmp_path, trained_settings))], input=stdin
    )
    assert result.exit_code == 0, result.output
    out = [json.loads(line) for line in result.stdout.splitlines()]
    assert [o["id"] for o in out] == ["a", 7]
    for o in out:
        assert {"id", "labels", "scores"} <= set(o)
        assert set(o["labels"]) == {"relevant", "type", "themes", "axes", "scope", "deadline"}
    assert out[0]["labels"]["deadline"] == "2026-03-15"
    assert out[0]["labels"]["type"] == "appel_a_projets"
    assert out[1]["labels"]["relevant"] is False


def test_label_bad_line_names_it_and_goes_on(tmp_path: Path, trained_settings) -> None:
    stdin = '{"id": 1, "title": "Recyclage des déchets", "text": ""}\nnot json\n[1, 2]\n'
    result = CliRunner().invoke(
        main, ["label", "--settings", str(_settings_file(tmp_path, trained_settings))], input=stdin
    )
    assert result.exit_code == 1
    assert "stdin:2" in result.stderr and "stdin:3" in result.stderr
    assert json.loads(result.stdout.splitlines()[0])["id"] == 1


def test_label_bytes_that_are_not_text_name_their_line_and_others_go_on(
    tmp_path: Path,
    trained_settings,  # noqa: ANN001
) -> None:
    stdin = (
        b'{"id": 1, "title": "Recyclage des d\xc3\xa9chets", "text": ""}\n'
        b'{"id": 2, "title": "\xe9conomie circulaire", "text": ""}\n'
        b'{"id": 3, "title": "\\udce9 seul", "text": ""}\n'
        b'{"id": ' + b"9" * 5000 + b', "title": "x"}\n'
        b'{"id": 5, "title": "M\xc3\xa9thanisation", "text": ""}\n'
        b'\xff\xfe{\x00"\x00i\x00d\x00"\x00:\x00 \x006\x00}\x00\n'  # a UTF-16 line
    )
    result = CliRunner().invoke(
        main, ["label", "--settings", str(_settings_file(tmp_path, trained_settings))], input=stdin
    )
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit), result.exception
    assert "stdin:2: not UTF-8 text" in result.stderr
    assert "stdin:3: not UTF-8 text" in result.stderr
    assert "stdin:4: not valid JSON" in result.stderr
    assert "stdin:6: not UTF-8 text (column 1; save the file as UTF-8)" in result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [1, 5]


def test_evaluate_prints_every_field(tmp_path: Path, trained_settings) -> None:
    corpus = tmp_path / "corpus.jsonl"
    items = [
        {"id": "1", "title": "Décret relatif au tri des déchets du bâtiment",
         "text": "Publié au Journal officiel, le décret fixe les obligations de tri.",
         "labels": {"relevant": True, "type": "reglementation", "themes": ["dechets_ressources"],
                    "axes": ["veille"], "scope": "france", "deadline": None}},
        {"id": "2", "title": "Victoire du club de football", "text": "Le match est gagné.",
         "labels": {"relevant": False, "type": None, "themes": [], "axes": [], "scope": None,
                    "deadline": None}},
    ]  # fmt: skip
    corpus.write_text("\n".join(json.dumps(i, ensure_ascii=False) for i in items))
    args = ["evaluate", "--corpus", str(corpus), "--json"]
    args += ["--settings", str(_settings_file(tmp_path, trained_settings))]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    figures = json.loads(result.stdout)
    for key in ("relevance_f1", "type_macro_f1", "themes_micro_f1", "axes_micro_f1",
                "scope_accuracy", "deadline_exact", "deadline_invented"):  # fmt: skip
        assert key in figures["summary"]
    assert figures["per_label"]["type"]["reglementation"]["support"] == 1


def test_train_and_classify_commands(tmp_path: Path, trained_settings) -> None:  # noqa: ANN001
    from watcher.models import CollectedItem
    from watcher.store import Store
    from watcher.store.items import save_item
    from watcher.store.labels import get_labels

    settings_file = tmp_path / "watcher.toml"
    settings_file.write_text(
        "[classify]\n"
        f'model_dir = "{tmp_path / "model"}"\n'
        f'training_dir = "{trained_settings.classify.training_dir}"\n'
        "cv_folds = 3\n"
    )
    db = tmp_path / "w.db"
    store = Store(db)
    item_id, _new = save_item(
        store,
        CollectedItem(
            source_id="s",
            url="https://example.org/a",
            title="Appel à projets : recyclage des plastiques",
            text="Les candidatures sont ouvertes jusqu'au 30 juin 2026.",
        ),
    )
    store.close()
    common = ["--settings", str(settings_file), "--db", str(db)]
    common += ["--sources", str(tmp_path / "missing.yaml")]
    trained = CliRunner().invoke(main, ["train", *common])
    assert trained.exit_code == 0, trained.output
    assert "Cross-validated" in trained.stdout and "type_macro_f1" in trained.stdout
    assert (tmp_path / "model" / "model.json").exists()

    first = CliRunner().invoke(main, ["classify", *common])
    assert first.exit_code == 0, first.output
    assert "1 item(s) labelled" in first.stdout
    again = CliRunner().invoke(main, ["classify", *common])
    assert "0 item(s) labelled" in again.stdout
    store = Store(db)
    assert get_labels(store, [item_id])[item_id]["labels"]["deadline"] == "2026-06-30"
    store.close()


def _gold(**labels) -> dict:  # noqa: ANN003
    base = {"relevant": True, "type": "appel_a_projets", "themes": ["energie"],
            "axes": ["veille"], "scope": "france", "deadline": None}  # fmt: skip
    return {**base, **labels}


def test_evaluate_names_every_bad_gold_line(tmp_path: Path, trained_settings) -> None:  # noqa: ANN001
    corpus = tmp_path / "corpus.jsonl"
    lines = [
        {"id": "ok", "title": "Appel à projets chaleur", "text": "x", "labels": _gold()},
        {"id": "t", "title": "a", "text": "b", "labels": _gold(type="apel_a_projet")},
        {"id": "a", "title": "a", "text": "b", "labels": _gold(axes=["veile"])},
        {"id": "d", "title": "a", "text": "b", "labels": _gold(deadline="15/03/2026")},
        {"id": "r", "title": "a", "text": "b", "labels": _gold(relevant="yes")},
        {"id": "n", "title": "a", "text": "b"},
    ]
    text = "\n".join(json.dumps(line) for line in lines) + "\n" + "[" * 100_000 + "]" * 100_000
    corpus.write_text(text + "\n", encoding="utf-8")
    args = ["evaluate", "--corpus", str(corpus)]
    args += ["--settings", str(_settings_file(tmp_path, trained_settings))]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 1, result.output
    assert isinstance(result.exception, SystemExit)  # a message, not a RecursionError
    for number, words in [(2, "apel_a_projet"), (3, "veile"), (4, "15/03/2026"),
                          (5, "labels.relevant"), (6, "no labels"), (7, "nested too deeply")]:  # fmt: skip
        assert f"{corpus}:{number}:" in result.stderr and words in result.stderr, result.stderr
    assert f"{corpus}:1:" not in result.stderr
    assert "6 line(s) cannot be scored" in result.stderr


def test_label_deeply_nested_json_is_a_clear_error(tmp_path: Path, trained_settings) -> None:  # noqa: ANN001
    stdin = "[" * 100_000 + "]" * 100_000 + "\n" + '{"id": 2, "title": "Recyclage", "text": ""}\n'
    stdin += '{"id": 3, "title": ' + "[" * 100_000 + "]" * 100_000 + "}\n"
    result = CliRunner().invoke(
        main, ["label", "--settings", str(_settings_file(tmp_path, trained_settings))], input=stdin
    )
    assert result.exit_code == 1
    assert result.exception is None or isinstance(result.exception, SystemExit)
    assert "stdin:1: not valid JSON (nested too deeply)" in result.stderr
    assert "stdin:3: not valid JSON (nested too deeply)" in result.stderr
    assert [json.loads(line)["id"] for line in result.stdout.splitlines()] == [2]


def test_evaluate_prints_type_confusion_axes_and_events(tmp_path: Path, trained_settings) -> None:  # noqa: ANN001
    corpus = tmp_path / "events.jsonl"
    lines = [
        {"id": "w", "title": "Webinaire : la chaleur fatale des fonderies",
         "text": "Le réseau organise un webinaire le jeudi 4 mars 2027 de 10h à 11h30, en ligne.",
         "labels": _gold(type="evenement", axes=["savoirs"]),
         "event": {"start": "2027-03-04T10:00", "end": "2027-03-04T11:30", "place": "En ligne"}},
        {"id": "n", "title": "Appel à projets chaleur fatale",
         "text": "Date limite de dépôt : 15 mars 2027. Région Grand Est.",
         "labels": _gold(deadline="2027-03-15"), "event": None},
    ]  # fmt: skip
    corpus.write_text("\n".join(json.dumps(line, ensure_ascii=False) for line in lines))
    args = ["evaluate", "--corpus", str(corpus)]
    args += ["--settings", str(_settings_file(tmp_path, trained_settings))]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 0, result.output
    assert "type confusion (rows: corpus, columns: predicted)" in result.stdout
    assert "axes_macro_f1" in result.stdout and "communicat" in result.stdout
    figures = json.loads(CliRunner().invoke(main, [*args, "--json"]).stdout)
    assert figures["type_confusion"]["evenement"]["evenement"] == 1
    assert figures["events"]["events_stated"] == 1
    assert figures["events"]["start_exact"] == 1.0 and figures["events"]["all_exact"] == 1.0
    assert figures["events"]["events_invented"] == 0.0


def test_evaluate_reads_stdin_and_names_its_lines(tmp_path: Path, trained_settings) -> None:  # noqa: ANN001
    good = {"id": "ok", "title": "Appel à projets chaleur", "text": "x", "labels": _gold()}
    stdin = json.dumps(good) + "\n" + "{" * 100_000 + "\n"
    args = ["evaluate", "--corpus", "-", "--settings"]
    args.append(str(_settings_file(tmp_path, trained_settings)))
    result = CliRunner().invoke(main, args, input=stdin)
    assert result.exit_code == 1
    assert "stdin:2: not valid JSON" in result.stderr
    ok = CliRunner().invoke(main, [*args, "--json"], input=json.dumps(good) + "\n")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["summary"]["items"] == 1
