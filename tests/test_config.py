from __future__ import annotations

from datetime import timedelta

import pytest
from click.testing import CliRunner

from tests.shared import ROOT
from watcher.cli import main
from watcher.config import load_sources, parse_sources
from watcher.exceptions import ConfigError
from watcher.settings import Settings, load_settings

GOOD = """
sources:
  - id: ademe-ge
    name: ADEME Grand Est
    kind: rss
    url: https://example.org/feed
    check_every: 12h
"""


def test_valid_file_parses_with_defaults():
    sources = parse_sources(GOOD)
    (source,) = sources.sources
    assert source.check_every == timedelta(hours=12)
    assert source.enabled and source.fetch_article


def test_bad_kind_names_the_source_and_field(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD.replace("kind: rss", "kind: rs"), encoding="utf-8")
    result = CliRunner().invoke(main, ["sources", "validate", "--sources", str(path)])
    assert result.exit_code == 2
    assert (
        "sources.yaml: source 'ademe-ge': kind 'rs' is not one of "
        "rss, atom, html, api, sitemap, jorf" in result.output
    )


@pytest.mark.parametrize(
    ("patch", "expected"),
    [
        ("    check_every: 12h\n    colour: red\n", "colour unknown key"),
        ("    check_every: soon\n", "check_every 'soon' is not a duration"),
        # Huge ones overflowed timedelta ("unexpected OverflowError"); 0 and -5 were taken.
        ("    check_every: 99999999999999d\n", "check_every '99999999999999d' is more than 365"),
        ("    check_every: 99999999999999999999\n", "is more than 365 days"),
        ("    check_every: 366d\n", "check_every '366d' is more than 365 days"),
        ("    check_every: 0\n", "check_every '0' must be more than zero"),
        ("    check_every: -5\n", "check_every '-5' must be more than zero"),
        ("    check_every: 0m\n", "check_every '0m' must be more than zero"),
        ("    check_every: .nan\n", "check_every 'nan' is not a duration"),
        (
            "    check_every: 12h\n  - id: ademe-ge\n    name: b\n    kind: rss\n    url: https://b.fr/\n",
            "duplicate source id 'ademe-ge'",
        ),
        (
            "    check_every: 12h\n    api:\n      fields: {url: link, title: t}\n",
            "block 'api' only applies to kind 'api'",
        ),
    ],
)
def test_invalid_entries_are_refused(patch, expected):
    text = GOOD.replace("    check_every: 12h\n", patch)
    with pytest.raises(ConfigError) as info:
        parse_sources(text)
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("old", "new", "expected"),
    [
        (
            "id: ademe-ge",
            "id: 304",
            'id 304 was read as a number, not as text; write it in quotes: "304"',
        ),
        (
            "name: ADEME Grand Est",
            "name: yes",
            "name was read as yes/no, not as text; write the text",
        ),
    ],
)
def test_an_unquoted_number_or_yes_where_text_is_due_says_to_quote_it(old, new, expected):
    with pytest.raises(ConfigError) as info:
        parse_sources(GOOD.replace(old, new))
    assert expected in str(info.value)


@pytest.mark.parametrize(
    ("written", "expected"),
    [("365d", timedelta(days=365)), ("52w", timedelta(weeks=52)), (0.5, timedelta(minutes=30))],
)
def test_check_every_bounds_are_inclusive(written, expected):
    text = GOOD.replace("check_every: 12h", f"check_every: {written}")
    assert parse_sources(text).sources[0].check_every == expected


API_SOURCE = """
sources:
  - id: aides
    name: Aides-territoires
    kind: api
    url: https://example.org/api/aids/
    api:
      fields: {url: url, title: name}
      auth: AUTH
"""


def test_api_key_must_be_an_environment_variable_name():
    text = API_SOURCE.replace("AUTH", '{style: aides_territoires, key_env: "s3cr3t-value"}')
    with pytest.raises(ConfigError, match="not an environment variable name"):
        parse_sources(text)


def test_bundled_sources_file_is_valid():
    sources = load_sources(ROOT / "sources.yaml")
    assert len(sources.sources) >= 50


def test_settings_refuse_unknown_keys(tmp_path):
    path = tmp_path / "watcher.toml"
    path.write_text("[collect]\nuser_agnet = 'x'\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="collect.user_agnet: unknown setting"):
        load_settings(path)


def test_settings_refuse_an_infinite_number(tmp_path):
    path = tmp_path / "watcher.toml"
    path.write_text("[collect]\nretry_backoff_s = inf\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="collect.retry_backoff_s = inf"):
        load_settings(path)


@pytest.mark.parametrize(
    ("text", "where"),
    [
        (GOOD + GOOD, "line 9, column 1: duplicate key 'sources'"),  # a second block
        (GOOD + "    url: https://example.org/other\n", "line 8, column 5: duplicate key 'url'"),
    ],
)
def test_a_key_written_twice_is_refused(text, where):
    with pytest.raises(ConfigError, match=where):
        parse_sources(text)


def test_the_same_key_in_two_sources_is_fine():
    two = GOOD + GOOD.replace("sources:\n", "").replace("ademe-ge", "autre")
    assert [s.id for s in parse_sources(two).sources] == ["ademe-ge", "autre"]


def test_example_settings_file_lists_every_setting_with_its_default():
    example = ROOT / "watcher.example.toml"
    assert load_settings(example) == Settings()
    text = example.read_text(encoding="utf-8")
    for section_name, section in Settings.model_fields.items():
        assert f"[{section_name}]" in text
        for key in section.annotation.model_fields:
            assert f"\n{key} = " in text or f"\n# {key} = " in text, f"{section_name}.{key}"


def test_a_huge_schedule_interval_is_a_clear_error_not_an_overflow(tmp_path):
    path = tmp_path / "watcher.toml"
    path.write_text("[schedule]\ncollect_check_every_min = 99999999999999\n", encoding="utf-8")
    db = tmp_path / "w.db"
    args = ["schedule", "--list", "--settings", str(path), "--db", str(db), "--sources", "x"]
    result = CliRunner().invoke(main, args)
    assert result.exit_code == 2, result.output
    assert result.output.startswith(f"Error: {path}: schedule.collect_check_every_min = ")
    assert "unexpected" not in result.output


@pytest.mark.parametrize(
    ("url", "why"),
    [
        ("http://[::1", "is not a valid URL (Invalid IPv6 URL)"),
        (
            "http://[zzz]/",
            "is not a valid URL ('zzz' does not appear to be an IPv4 or IPv6 address)",
        ),
        (
            "http://example.org:99999/feed",
            "has an invalid port: a port is a number from 1 to 65535",
        ),
        ("http://example.org:abc/", "has an invalid port: a port is a number from 1 to 65535"),
        ("http://[::1]:0/", "has an invalid port: a port is a number from 1 to 65535"),
        ("http://:80/feed", "has no valid host name"),
    ],
)
def test_a_url_no_crawl_can_fetch_is_refused_with_its_source(url, why):
    # Taken before: the crawl then stopped at its start on a ValueError.
    text = GOOD.replace("url: https://example.org/feed", f"url: '{url}'")
    with pytest.raises(ConfigError) as info:
        parse_sources(text)
    assert str(info.value) == f"sources.yaml: source 'ademe-ge': url '{url}' {why}"


def test_sources_validate_refuses_an_invalid_port(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD.replace("/feed", ":99999/feed"), encoding="utf-8")
    result = CliRunner().invoke(main, ["sources", "validate", "--sources", str(path)])
    assert result.exit_code == 2, result.output
    assert result.output == (
        "Error: sources.yaml: source 'ademe-ge': url 'https://example.org:99999/feed' "
        "has an invalid port: a port is a number from 1 to 65535\n"
    )


def test_an_api_token_url_is_checked_too():
    text = API_SOURCE.replace(
        "AUTH", '{style: aides_territoires, key_env: KEY, token_url: "https://[::1/token"}'
    )
    with pytest.raises(
        ConfigError, match=r"api.auth.token_url 'https://\[::1/token' is not a valid"
    ):
        parse_sources(text)


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("    notes: 2026-13-45\n", "line 7, column 12: '2026-13-45' cannot be read: month must"),
        ("    check_every: " + "9" * 5000 + "\n", "line 7, column 18: '" + "9" * 40 + "…' cannot"),
    ],
)
def test_a_scalar_python_cannot_build_is_a_yaml_error_with_its_line(line, expected):
    # A date that does not exist, an integer past Python's digit limit: ValueError, a bug.
    with pytest.raises(ConfigError) as info:
        parse_sources(GOOD.replace("    check_every: 12h\n", line))
    assert str(info.value).startswith(f"sources.yaml: not valid YAML: {expected}")


HTML_SOURCE = """
sources:
  - id: region-aides
    name: Région
    kind: html
    url: https://example.org/aides
    html:
      item: "article"
      link: "a::attr(href)"
      FIELD: "SELECTOR"
"""


@pytest.mark.parametrize(
    ("field", "selector", "why"),
    [
        ("title", "h2::text, [[[", "Expected ident or '*', got <DELIM '[' at 11>"),
        ("date", "time::attr(datetime", "Expected an argument, got <EOF at 19>"),
        ("summary", "p:premier", "The pseudo-class :premier is unknown"),
        ("next_page", "a::href", "the pseudo-element ::href is unknown"),
        ("next_page", "a::attr(1)", "::attr() is not ::attr(name)"),
    ],
)
def test_an_html_selector_the_crawl_cannot_read_is_refused_with_its_source(
    tmp_path, field, selector, why
):
    # Taken before: `sources validate` said the file was valid, and the source failed at
    # every crawl as an unexpected error (parsel's SelectorSyntaxError).
    path = tmp_path / "sources.yaml"
    path.write_text(HTML_SOURCE.replace("FIELD", field).replace("SELECTOR", selector))
    result = CliRunner().invoke(main, ["sources", "validate", "--sources", str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(
        f"Error: sources.yaml: source 'region-aides': html.{field} '{selector}' "
        f"is not a CSS selector: {why}"
    ), result.output


def test_the_selectors_the_crawl_reads_are_accepted():
    text = HTML_SOURCE.replace("FIELD", "title").replace(
        "SELECTOR", "h2::text, h3 > a::attr('title'), li:nth-child(2) a:not(.pub)::text"
    )
    (source,) = parse_sources(text).sources
    assert source.html.title.startswith("h2::text")


def test_a_hint_theme_the_taxonomy_does_not_know_is_refused_with_its_source(tmp_path):
    # Taken before: the classifier skips a theme it does not know, so the typo gave the
    # source's items no theme prior at all, and nothing said so.
    path = tmp_path / "sources.yaml"
    path.write_text(GOOD + "    hints: {themes: [eau, energy]}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sources", "validate", "--sources", str(path)])
    assert result.exit_code == 2, result.output
    assert result.output.startswith(
        "Error: sources.yaml: source 'ademe-ge': hints.themes 'energy' is not one of "
        "dechets_ressources, energie, eau,"
    ), result.output

    path.write_text(GOOD + "    hints: {themes: [eau, energie]}\n", encoding="utf-8")
    result = CliRunner().invoke(main, ["sources", "validate", "--sources", str(path)])
    assert result.exit_code == 0, result.output


THREE_MISTAKES = """
sources:
  - id: region-aides
    name: Aides de la Région
    kind: html
    url: https://example.org/aides
    html: {item: "div[[", link: a}
  - id: ademe-ge
    name: ADEME Grand Est
    kind: rss
    url: https://example.org/feed
    hints: {themes: [energy]}
  - name: Sans identifiant
    kind: rss
    url: https://example.org/other
    check_every: soon
  - id: ademe-ge
    name: ADEME again
    kind: rss
    url: https://example.org/feed2
"""


def test_every_problem_of_the_file_is_listed_in_file_order_with_a_count(tmp_path):
    # Taken before: validation stopped at the first problem (the selector), so a file
    # with four mistakes took four runs; the duplicate and the theme came last of all.
    path = tmp_path / "sources.yaml"
    path.write_text(THREE_MISTAKES, encoding="utf-8")
    result = CliRunner().invoke(main, ["sources", "validate", "--sources", str(path)])
    assert result.exit_code == 2, result.output
    lines = result.output.splitlines()
    assert lines[0].startswith(
        "Error: sources.yaml: source 'region-aides': html.item 'div[[' is not a CSS selector"
    ), result.output
    assert lines[1].startswith(
        "sources.yaml: source 'ademe-ge': hints.themes 'energy' is not one of"
    ), result.output
    assert set(lines[2:4]) == {
        "sources.yaml: source #3: id is required",
        "sources.yaml: source #3: check_every 'soon' is not a duration such as 30m, 6h, 1d or 2w",
    }, result.output
    assert lines[4:] == [
        "sources.yaml: duplicate source id 'ademe-ge' (sources #2 and #4)",
        "5 problems in sources.yaml",
    ], result.output
    assert "Traceback" not in result.output


def test_a_kind_without_its_block_is_reported_along_with_another_source():
    text = GOOD + "    hints: {themes: [energy]}\n  - id: b\n    name: b\n    kind: html\n"
    text += "    url: https://b.fr/\n"
    with pytest.raises(ConfigError) as caught:
        parse_sources(text, themes=["eau"])
    assert caught.value.message.splitlines() == [
        "sources.yaml: source 'ademe-ge': hints.themes 'energy' is not one of eau",
        "sources.yaml: source 'b': kind 'html' needs an 'html' block with at least a 'link' selector",
        "2 problems in sources.yaml",
    ]


def test_one_problem_is_one_line_and_a_yaml_error_stays_one_error():
    with pytest.raises(ConfigError) as caught:
        parse_sources(GOOD.replace("12h", "soon"))
    assert caught.value.message == (
        "sources.yaml: source 'ademe-ge': check_every 'soon' is not a duration "
        "such as 30m, 6h, 1d or 2w"
    )
    with pytest.raises(ConfigError) as caught:
        parse_sources(THREE_MISTAKES + "  - id: [unclosed\n")
    assert caught.value.message.startswith("sources.yaml: not valid YAML: line ")
    assert "\n" not in caught.value.message
