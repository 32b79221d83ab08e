"""The demo's sources file: valid for the real schema, every kind, pointing at the server."""

from __future__ import annotations

from click.testing import CliRunner

from watcher.cli import main
from watcher.config import load_sources
from watcher.demo.content import BROKEN
from watcher.demo.sources import write_demo_sources


def test_written_demo_sources_validate(tmp_path):
    path = write_demo_sources("http://127.0.0.1:8123", tmp_path / "demo-sources.yaml")
    result = CliRunner().invoke(main, ["sources", "validate", "--sources", str(path)])
    assert result.exit_code == 0, result.output
    assert "15 sources, 15 enabled" in result.output


def test_demo_sources_cover_every_kind_and_stay_local(tmp_path):
    path = write_demo_sources("http://127.0.0.1:8123/", tmp_path / "s.yaml")
    loaded = load_sources(path)
    assert {s.kind for s in loaded.sources} == {"rss", "atom", "html", "api", "sitemap", "jorf"}
    assert all(s.url.startswith("http://127.0.0.1:8123/") for s in loaded.sources)
    assert {b.id for b in BROKEN} <= {s.id for s in loaded.sources}
    api = next(s for s in loaded.sources if s.kind == "api").api
    assert api.auth.style == "aides_territoires"
    assert api.auth.token_url == "http://127.0.0.1:8123/aides/api/connexion/"
    assert next(s for s in loaded.sources if s.kind == "jorf").fetch_article is False
