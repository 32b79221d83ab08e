"""`watcher demo`: the command runs the steps with the demo web up, then says where the output is."""

from __future__ import annotations

import os
import re
import subprocess
import sys
import urllib.request

from click.testing import CliRunner

import watcher.demo as demo
from watcher.cli import main
from watcher.demo.sources import DEMO_KEY_ENV


def test_watcher_demo_runs_the_steps_and_prints_where_the_output_is(tmp_path, monkeypatch):
    seen = {}

    def probe(ctx, _result):
        with urllib.request.urlopen(ctx.base_url + "/robots.txt", timeout=10) as response:
            seen["status"] = response.status
        seen["key"] = os.environ.get(DEMO_KEY_ENV)
        ctx.notes.append("a note for the reader")
        return "probed"

    monkeypatch.setattr(demo, "STEPS", [("probe", probe)])
    monkeypatch.delenv(DEMO_KEY_ENV, raising=False)
    out = tmp_path / "demo"
    result = CliRunner().invoke(main, ["demo", "--output", str(out)])
    assert result.exit_code == 0, result.output
    assert seen == {"status": 200, "key": demo.DEMO_API_KEY}
    assert re.search(r"probe\s+probed", result.output)
    assert f"Demo output in {out}/" in result.output
    assert "a note for the reader" in result.output
    assert (out / "demo-sources.yaml").is_file() and (out / "watcher.db").is_file()
    assert DEMO_KEY_ENV not in os.environ  # restored after the run
    again = CliRunner().invoke(main, ["demo", "--output", str(out)])
    assert again.exit_code == 0, again.output  # the demo's own folder is recreated


def test_watcher_demo_refuses_a_folder_with_a_real_database(tmp_path, monkeypatch):
    monkeypatch.setattr(demo, "STEPS", [])
    (tmp_path / "watcher.db").write_bytes(b"precious")
    result = CliRunner().invoke(main, ["demo", "--output", str(tmp_path)])
    assert result.exit_code == 2
    assert "holds a watcher.db that the demo did not create" in result.output
    assert (tmp_path / "watcher.db").read_bytes() == b"precious"


def test_watcher_demo_serve_serves_until_stopped(tmp_path):
    process = subprocess.Popen(
        [sys.executable, "-m", "watcher", "demo", "--serve", "--output", str(tmp_path)],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = process.stdout.readline()
        base_url = re.search(r"http://127\.0\.0\.1:\d+", line).group(0)
        with urllib.request.urlopen(base_url + "/agence/flux.xml", timeout=10) as response:
            assert response.status == 200
        assert (tmp_path / "demo-sources.yaml").is_file()
    finally:
        process.terminate()
        process.wait(timeout=10)


def test_a_failing_step_is_named_and_stops_the_demo(tmp_path, monkeypatch):
    ran = []

    def broken(_ctx, _result):
        raise RuntimeError("the model file is corrupt")

    monkeypatch.setattr(demo, "STEPS", [("classify", broken), ("site", lambda c, r: ran.append(1))])
    result = CliRunner().invoke(main, ["demo", "--output", str(tmp_path / "d")])
    assert result.exit_code == 1
    assert "demo step 'classify' failed: RuntimeError: the model file is corrupt" in result.output
    assert not ran
