"""The operator's files are checked before any parser runs: sources.yaml and
watcher.toml that are folders, binary, in another encoding, huge or alias
bombs; settings whose values make no sense."""

from __future__ import annotations

import pytest

from watcher.config import load_sources, parse_sources
from watcher.exceptions import ConfigError
from watcher.files import MAX_CONFIG_BYTES
from watcher.settings import load_settings

from .test_config import GOOD

# 443 bytes; expanded, 387 million strings (the parser used to run for minutes
# and abort on a multi-gigabyte allocation).
BOMB = "\n".join(
    ["a: &a [x, x, x, x, x, x, x, x, x]"]
    + [f"{chr(98 + i)}: &{chr(98 + i)} [{', '.join([f'*{chr(97 + i)}'] * 9)}]" for i in range(8)]
    + ["sources: *i", ""]
)


def test_an_alias_bomb_is_refused_before_it_expands():
    with pytest.raises(ConfigError, match=r"line 1, column 4: YAML anchors and aliases"):
        parse_sources(BOMB)


def test_a_single_anchor_is_refused_too():
    text = GOOD.replace("  - id: ademe-ge", "  - &first\n    id: ademe-ge")
    with pytest.raises(ConfigError, match="anchors and aliases"):
        parse_sources(text)


def test_a_yaml_error_is_one_line_with_its_place():
    with pytest.raises(ConfigError) as info:
        parse_sources("sources: [unclosed\n  - : :\n", "s.yaml")
    message = str(info.value)
    assert message.startswith("s.yaml: not valid YAML: line 2, column ") and "\n" not in message
    assert "expected ',' or ']'" in message


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        (b"\x00\x01\x02binary", "binary data, not a sources file"),
        (GOOD.replace("ADEME", "Agence é").encode("latin-1"), "line 4: not UTF-8 text"),
        (
            GOOD.encode() + b"#" * MAX_CONFIG_BYTES,
            "larger than 2 MiB, too large for a sources file",
        ),
    ],
    ids=["binary", "latin-1", "huge"],
)
def test_sources_files_that_are_not_text_are_refused(tmp_path, content, expected):
    path = tmp_path / "sources.yaml"
    path.write_bytes(content)
    with pytest.raises(ConfigError, match=expected) as info:
        load_sources(path)
    assert str(path) in str(info.value)


def test_a_folder_given_as_a_file(tmp_path):
    with pytest.raises(ConfigError, match="is a folder, not a sources file"):
        load_sources(tmp_path)
    with pytest.raises(ConfigError, match="is a folder, not a settings file"):
        load_settings(tmp_path)


def test_a_byte_order_mark_is_accepted(tmp_path):
    path = tmp_path / "sources.yaml"
    path.write_bytes(b"\xef\xbb\xbf" + GOOD.encode())
    assert load_sources(path).sources[0].id == "ademe-ge"


def test_settings_in_another_encoding(tmp_path):
    path = tmp_path / "watcher.toml"
    path.write_bytes("[schedule]\nteam_email = 'équipe@example.org'\n".encode("latin-1"))
    with pytest.raises(ConfigError, match="line 2: not UTF-8 text"):
        load_settings(path)


@pytest.mark.parametrize(
    ("section", "key", "value"),
    [
        ("desk", "port", 99999999),
        ("desk", "port", 0),
        ("delivery", "smtp_port", 70000),
        ("delivery", "rate_per_minute", -5),
        ("delivery", "rate_per_minute", 0),
        ("delivery", "max_attempts", 0),
        ("delivery", "smtp_timeout_s", -1),
        ("collect", "crawl_time_limit_s", -1),
        ("collect", "crawl_time_limit_s", 0),
        ("collect", "concurrent_requests", 0),
        ("collect", "download_delay_s", -0.5),
        ("collect", "retry_times", -1),
        ("classify", "relevance_threshold", 1.5),
        ("classify", "cv_folds", 1),
        ("publish", "score_threshold", -0.1),
        ("schedule", "misfire_grace_s", 0),
        ("schedule", "disk_free_alert_percent", 120),
        ("schedule", "log_backups", -1),
        # Huge durations and counts overflowed a timedelta, a date or a timeout later, as an
        # "unexpected OverflowError" (or hung): refused at load like the others.
        ("schedule", "collect_check_every_min", 99999999999999),
        ("schedule", "collect_check_every_min", 9999999999),
        ("schedule", "collect_default_interval_h", 1e300),
        ("schedule", "crawl_kill_grace_s", 99999999999999999),
        ("schedule", "misfire_grace_s", 99999999999999999),
        ("schedule", "send_misfire_grace_s", 31536001),
        ("schedule", "silent_after_intervals", 1e300),
        ("schedule", "raw_body_retention_days", 99999999999999),
        ("schedule", "log_backups", 99999999999999),
        ("collect", "crawl_time_limit_s", 99999999999999),
        ("collect", "download_timeout_s", 1e300),
        ("collect", "host_backoff_hours", 1e300),
        ("collect", "token_lifetime_h", 1e300),
        ("collect", "retry_times", 2000),
        ("delivery", "smtp_timeout_s", 1e300),
        ("delivery", "confirm_link_hours", 99999999999999),
        ("desk", "session_max_age_h", 99999999999999),
        ("desk", "preview_weeks", 99999999999999),
    ],
)
def test_settings_out_of_range_name_the_file_and_the_key(tmp_path, section, key, value):
    path = tmp_path / "watcher.toml"
    path.write_text(f"[{section}]\n{key} = {value}\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value).startswith(f"{path}: {section}.{key} = {value}: Input should be")


@pytest.mark.parametrize("host", ["", " ", "mail example.org", "localhost\\n"])
def test_an_smtp_host_that_is_no_host_name_is_refused_at_load(tmp_path, host):
    """An empty smtp_host made every message fail with smtplib's "please run
    connect() first", reported per subscriber, instead of one line naming it."""
    path = tmp_path / "watcher.toml"
    path.write_text(f'[delivery]\nsmtp_host = "{host}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    shown = host.replace("\\n", "\n")
    assert str(info.value) == (
        f"{path}: delivery.smtp_host = {shown!r}: not a host name; give the SMTP server's "
        "name or address, e.g. localhost"
    )


def test_settings_at_the_edges_of_their_ranges_are_accepted(tmp_path):
    path = tmp_path / "watcher.toml"
    path.write_text(
        "[desk]\nport = 65535\n[delivery]\nrate_per_minute = 1\n"
        "[collect]\ncrawl_time_limit_s = 1\nretry_times = 0\ndownload_delay_s = 0\n",
        encoding="utf-8",
    )
    settings = load_settings(path)
    assert settings.desk.port == 65535 and settings.collect.crawl_time_limit_s == 1


def test_durations_of_a_year_are_accepted(tmp_path):
    path = tmp_path / "watcher.toml"
    path.write_text(
        "[schedule]\ncollect_check_every_min = 525600\ncollect_default_interval_h = 8760\n"
        "misfire_grace_s = 31536000\nraw_body_retention_days = 36500\n"
        "[desk]\npreview_weeks = 52\n",
        encoding="utf-8",
    )
    schedule = load_settings(path).schedule
    assert schedule.collect_check_every_min == 525600 and schedule.misfire_grace_s == 31536000


@pytest.mark.parametrize("day", ["monkey", "Mondays", "th", "lundi", ""])
def test_a_day_that_is_not_a_weekday_is_refused(tmp_path, day):
    # The scheduler kept the first three letters: "monkey" was Monday.
    path = tmp_path / "watcher.toml"
    path.write_text(f'[schedule]\nsend_day = "{day}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value) == (
        f"{path}: schedule.send_day = {day!r}: not a day of the week: "
        "write one of mon, tue, wed, thu, fri, sat, sun"
    )


@pytest.mark.parametrize(
    ("day", "expected"), [("thu", "thu"), ("Thursday", "thu"), (" TUE ", "tue"), ("SUN", "sun")]
)
def test_a_weekday_is_read_as_its_abbreviation(tmp_path, day, expected):
    path = tmp_path / "watcher.toml"
    path.write_text(f'[schedule]\ndraft_day = "{day}"\n', encoding="utf-8")
    assert load_settings(path).schedule.draft_day == expected


@pytest.mark.parametrize(
    ("section", "url", "why"),
    [
        ("desk", "https://[::1/app/", "is not a valid URL (Invalid IPv6 URL)"),
        ("publish", "https://veille.example.org:99999/", "has an invalid port"),
        ("desk", "javascript:alert(1)//", "is not an http(s) URL"),
    ],
)
def test_a_public_url_that_cannot_be_parsed_is_refused(tmp_path, section, url, why):
    # desk.public_url = "https://[::1/app/" was an unexpected ValueError at `watcher serve`.
    path = tmp_path / "watcher.toml"
    path.write_text(f'[{section}]\npublic_url = "{url}"\n', encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value).startswith(f"{path}: {section}.public_url = {url!r}: the address {why}")


def test_an_integer_past_the_digit_limit_is_a_toml_error(tmp_path):
    # tomllib's int() raised ValueError past 4300 digits: an "unexpected" error.
    path = tmp_path / "watcher.toml"
    path.write_text("[schedule]\nlog_backups = " + "9" * 5000 + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_settings(path)
    assert str(info.value) == f"{path}: not valid TOML: line 2: a number of more than 4300 digits"
