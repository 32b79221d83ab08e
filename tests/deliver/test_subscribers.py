"""Subscribers: CLI, CSV import with clear errors, unsubscribe tokens, rate limit."""

from __future__ import annotations

from click.testing import CliRunner

from watcher.cli import main
from watcher.deliver.smtp import TokenBucket
from watcher.deliver.subscribers import import_csv
from watcher.deliver.tokens import make_token, read_token
from watcher.store.delivery import get_subscriber, list_subscribers


def _cli(store, *args: str, input: str | None = None):  # noqa: ANN001, ANN202
    return CliRunner().invoke(main, ["--db", str(store.path), *args], input=input)


def test_cli_add_list_remove(store):
    result = _cli(
        store, "subscribers", "add", "a@example.org", "--name", "Anne", "--themes", "eau,energie"
    )
    assert result.exit_code == 0, result.output
    sub = get_subscriber(store, email="a@example.org")
    assert sub["themes"] == ["eau", "energie"] and sub["types"] == [] and sub["status"] == "active"
    listed = _cli(store, "subscribers", "list")
    assert "a@example.org\tAnne\teau,energie\tall\tall\tactive" in listed.output
    bad = _cli(store, "subscribers", "add", "b@example.org", "--themes", "chaleur")
    assert bad.exit_code == 2 and "unknown id(s) chaleur" in bad.output
    dup = _cli(store, "subscribers", "add", "a@example.org")
    assert dup.exit_code == 2 and "exists already" in dup.output
    assert _cli(store, "subscribers", "remove", "a@example.org").exit_code == 0
    assert get_subscriber(store, email="a@example.org")["status"] == "unsubscribed"
    assert _cli(store, "subscribers", "list").output == ""
    assert "unsubscribed" in _cli(store, "subscribers", "list", "--all").output
    missing = _cli(store, "subscribers", "remove", "zz@example.org")
    assert missing.exit_code == 2 and "no subscriber" in missing.output


def test_csv_import_reports_file_line_and_field(store, tmp_path):
    path = tmp_path / "abonnes.csv"
    path.write_text(
        "email;name;themes;types;scope\n"
        "un@example.org;Un;eau|energie;;\n"
        "pas-une-adresse;Deux;eau;;\n"
        "trois@example.org;Trois;chaleur;;\n"
        "quatre@example.org;Quatre;;appel_a_projets;grand_est\n"
        "un@example.org;Un bis;;;\n",
        encoding="utf-8",
    )
    report = import_csv(store, path)
    assert report.added == ["un@example.org", "quatre@example.org"]
    assert report.existing == ["un@example.org"]
    assert report.errors[0].startswith(f"{path}: line 3: field 'email'")
    assert report.errors[1].startswith(f"{path}: line 4: field 'themes': unknown id(s) chaleur")
    four = get_subscriber(store, email="quatre@example.org")
    assert four["types"] == ["appel_a_projets"] and four["scopes"] == ["grand_est"]


def test_csv_import_cli_exit_status_and_header_errors(store, tmp_path):
    good = tmp_path / "ok.csv"
    good.write_text("email,name,themes\nx@example.org,X,all\n", encoding="utf-8")
    result = _cli(store, "subscribers", "import", str(good))
    assert result.exit_code == 0 and "1 added" in result.output
    assert get_subscriber(store, email="x@example.org")["themes"] == []
    bad = tmp_path / "bad.csv"
    bad.write_text("mail,nom\nx@example.org,X\n", encoding="utf-8")
    result = _cli(store, "subscribers", "import", str(bad))
    assert result.exit_code == 2 and f"{bad}: line 1" in result.output
    missing = _cli(store, "subscribers", "import", str(tmp_path / "none.csv"))
    assert missing.exit_code == 2 and "cannot read" in missing.output
    assert len(list_subscribers(store)) == 1


def test_unsubscribe_tokens_are_signed():
    sub = {"id": 7, "email": "a@example.org"}
    token = make_token("secret", sub)
    assert read_token("secret", token) == sub
    assert read_token("other secret", token) is None
    assert read_token("secret", token[:-2] + "xx") is None


def test_token_bucket_spaces_messages_to_the_rate():
    now = [0.0]
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        now[0] += seconds

    bucket = TokenBucket(60, clock=lambda: now[0], sleep=sleep)  # one a second
    for _ in range(4):
        bucket.acquire()
    assert [round(w, 6) for w in waits] == [1.0, 1.0, 1.0]
    now[0] += 10  # a quiet spell refills one token only (burst 1)
    bucket.acquire()
    assert len(waits) == 3
    bucket.acquire()
    assert round(waits[-1], 6) == 1.0
