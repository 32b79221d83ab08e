"""Settings: every tunable of watcher, with its default, in one place.

A deployment overrides any of them in a TOML file (``watcher.toml`` in the
working directory, or the path in ``--settings`` / ``WATCHER_SETTINGS``);
``watcher.example.toml`` at the project root lists them all. Secrets (SMTP
password, API keys) are never written here: only the name of the environment
variable that holds them.
"""

from __future__ import annotations

import os
import sys
import tomllib
from pathlib import Path
from typing import Annotated

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    NonNegativeInt,
    PositiveFloat,
    PositiveInt,
    ValidationError,
    field_validator,
)

from watcher.exceptions import ConfigError
from watcher.files import read_config_text
from watcher.urls import url_problem

DEFAULT_SETTINGS_PATH = Path("watcher.toml")
PUBLIC_PREFIX = "abonnement"  # where the web app serves the readers' subscription pages

# Ranges: a value that makes no sense (a negative rate, port 99999999, a time
# limit of -1 s) is refused at load, with the file and the key named.
Port = Annotated[int, Field(ge=1, le=65535)]
Fraction = Annotated[float, Field(ge=0, le=1)]
Percent = Annotated[float, Field(ge=0, le=100)]

# Durations: at most a year. No wait, limit or interval of watcher needs more, and
# a huge one overflowed later, as an "unexpected OverflowError", where it became a
# timedelta, a date or a socket timeout (collect_check_every_min = 99999999999999).
_YEAR_S = 365 * 86400
Seconds = Annotated[float, Field(gt=0, le=_YEAR_S)]
SecondsOrZero = Annotated[float, Field(ge=0, le=_YEAR_S)]
WholeSeconds = Annotated[int, Field(gt=0, le=_YEAR_S)]
Minutes = Annotated[int, Field(gt=0, le=_YEAR_S // 60)]
Hours = Annotated[float, Field(gt=0, le=_YEAR_S // 3600)]
HoursOrZero = Annotated[float, Field(ge=0, le=_YEAR_S // 3600)]
WholeHours = Annotated[int, Field(gt=0, le=_YEAR_S // 3600)]
Weeks = Annotated[int, Field(gt=0, le=52)]

# A scheduled day: the English abbreviation the docs show ("thu"), or the day in
# full ("Thursday"), in any case. Only these: the scheduler used to keep the first
# three letters of anything, so send_day = "monkey" meant Monday.
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_FULL_DAYS = ("monday", "tuesday", "wednesday", "thursday", "friday", "saturday", "sunday")
_DAY_NAMES = dict(zip(WEEKDAYS, WEEKDAYS, strict=True)) | dict(
    zip(_FULL_DAYS, WEEKDAYS, strict=True)
)


def weekday(value: str) -> str:
    """The abbreviation ("mon"…"sun") of a day written as one or in full; else ValueError."""
    day = _DAY_NAMES.get(value.strip().lower())
    if day is None:
        raise ValueError(f"not a day of the week: write one of {', '.join(WEEKDAYS)}")
    return day


Weekday = Annotated[str, AfterValidator(weekday)]


def _public_url(value: str) -> str:
    # Parsed by the desk's host check and the e-mails' links: an unclosed "[" there
    # was an unexpected ValueError at `watcher serve`.
    problem = url_problem(value) if value.strip() else None
    if problem:
        raise ValueError(f"the address {problem}")
    return value


PublicUrl = Annotated[str, AfterValidator(_public_url)]  # empty: none


class _Section(BaseModel):
    # inf passes every "≥ 0" bound and a wait of inf seconds hangs the crawl.
    model_config = ConfigDict(extra="forbid", allow_inf_nan=False)


class CollectSettings(_Section):
    """The crawl: politeness, limits, deduplication. Tests and the bench override some."""

    user_agent: str = (
        "watcher/0.1 (veille EIT Grand Est; +https://github.com/eit-grand-est/watcher)"
    )
    contact_url: str = "https://github.com/eit-grand-est/watcher"
    obey_robots_txt: bool = True
    download_timeout_s: Seconds = 30.0
    max_response_bytes: PositiveInt = 20 * 1024 * 1024
    max_pdf_bytes: PositiveInt = 15 * 1024 * 1024
    concurrent_requests: PositiveInt = 32
    concurrent_per_host: PositiveInt = 2
    download_delay_s: SecondsOrZero = 0.25  # minimum delay between two requests to one host
    autothrottle: bool = True
    autothrottle_start_delay_s: SecondsOrZero = 1.0
    autothrottle_max_delay_s: SecondsOrZero = 30.0
    autothrottle_target_concurrency: PositiveFloat = (
        1.0  # parallel requests AutoThrottle aims at per host
    )
    # Each retry waits twice as long as the one before: past 1024 retries the wait
    # overflowed a float, and with ten the last already waits retry_backoff_s x 512.
    retry_times: Annotated[int, Field(ge=0, le=10)] = 2
    retry_backoff_s: SecondsOrZero = 2.0  # wait before a retry, doubled at each new attempt
    host_backoff_hours: HoursOrZero = 6.0  # a host that answered 429/403 is left alone this long
    crawl_time_limit_s: WholeSeconds = 3600
    near_duplicate_threshold: Fraction = 0.85  # MinHash Jaccard estimate over word 5-shingles
    max_items_per_source: PositiveInt = 200  # new entries taken from one source in one run
    article_max_attempts: PositiveInt = 3  # failed article fetches before keeping the summary only
    keep_raw_bodies: bool = True  # fetched bytes, pruned after raw_body_retention_days
    token_lifetime_h: Hours = 23.0  # API bearer tokens reused this long (Aides-territoires: 24 h)
    crawl_log: Path | None = None  # the crawl's own log; None: kept only when the crawl crashes


class ClassifySettings(_Section):
    model_dir: Path = Path("output/model")
    relevance_threshold: Fraction = 0.5  # used until cross-validation tunes it
    classifiers_dir: Path | None = None  # taxonomy, lexicons, gazetteer; default: the bundled one
    training_dir: Path | None = None  # default: <classifiers_dir>/training
    auto_train: bool = True  # Classifier.load retrains a missing or stale model (else fails)
    model_weight: Fraction = 0.6  # share of the trained model in a label's score (rest: lexicons)
    max_words: PositiveInt = (
        300  # words of the text read after the title (speed; leads carry the cues)
    )
    batch_size: PositiveInt = 256
    cv_folds: Annotated[int, Field(ge=2)] = 5


class PublishSettings(_Section):
    output_dir: Path = Path("output")
    site_dir: Path = Path("output/site")
    public_url: PublicUrl = ""  # e.g. https://veille.eit-grand-est.fr/ ; empty: links stay relative
    templates_dir: Path | None = None  # a user's folder searched before the bundled templates
    # Automatic selection: minimum relevance score, on top of the classifier's own
    # decision. The classifier tunes its relevance threshold between 0.3 and 0.65,
    # so 0.3 keeps every item it calls relevant; raise it for a shorter bulletin.
    score_threshold: Fraction = 0.3
    cap_per_section: PositiveInt = 12
    # Characters of each item's text the site's search indexes (after title and summary).
    search_text_chars: NonNegativeInt = 5000


class DeliverySettings(_Section):
    smtp_host: str = "localhost"
    smtp_port: Port = 587
    smtp_security: str = "starttls"  # starttls | tls | none
    smtp_user_env: str = "WATCHER_SMTP_USER"
    smtp_password_env: str = "WATCHER_SMTP_PASSWORD"
    sender: str = "Veille EIT Grand Est <veille@example.org>"
    reply_to: str = ""
    unsubscribe_mailto: str = "veille+desinscription@example.org"
    rate_per_minute: PositiveInt = 120
    send_empty_note: bool = False
    max_attempts: PositiveInt = 5
    smtp_timeout_s: Seconds = 30.0  # also the wait for the server's 250 after DATA ("uncertain")
    confirm_link_hours: WholeHours = 48  # a subscription's confirmation link expires after this

    @field_validator("smtp_host")
    @classmethod
    def _host_name(cls, value: str) -> str:
        # smtplib takes "" for "connect later", and every message then failed with
        # "please run connect() first"; a space cannot be in a host name either.
        if not value or any(char.isspace() for char in value):
            raise ValueError(
                "not a host name; give the SMTP server's name or address, e.g. localhost"
            )
        return value


class DeskSettings(_Section):
    host: str = "127.0.0.1"
    port: Port = 8765
    secret_key_env: str = "WATCHER_SECRET_KEY"  # unset: a secret generated once, kept in the store
    session_max_age_h: WholeHours = 12
    preview_weeks: Weeks = 4  # weeks compared when previewing a retrained model
    # The https address at which readers reach `watcher serve` (through the proxy), e.g.
    # https://veille.example.org/app/ : its abonnement/ pages (subscribe, manage, one-click
    # unsubscribe) are linked from every e-mail and from the site. Empty: mailto only.
    public_url: PublicUrl = ""
    # Host names the desk answers to besides the loopback ones and public_url's (another
    # public name behind a proxy); any other Host header gets 400 (DNS rebinding).
    allowed_hosts: list[str] = Field(default_factory=list)
    # Proxies (addresses or networks) whose X-Forwarded-For is believed; empty: none.
    trusted_proxies: list[str] = Field(default_factory=list)
    secure_cookies: bool = False  # true when the desk is served behind HTTPS
    max_form_kib: PositiveInt = 256  # a form's body, refused (413) before it is read
    max_upload_kib: PositiveInt = 2048  # a file upload (subscribers' CSV)

    def subscription_url(self) -> str:
        """``<public_url>/abonnement/``: the readers' pages, or "" without a public_url."""
        base = self.public_url.strip()
        return f"{base.rstrip('/')}/{PUBLIC_PREFIX}/" if base else ""


class ScheduleSettings(_Section):
    timezone: str = "Europe/Paris"
    collect_default_interval_h: Hours = 6.0  # sources.yaml's check_every wins when given
    collect_check_every_min: Minutes = 15  # how often the scheduler looks for sources that are due
    crawl_kill_grace_s: WholeSeconds = 60  # after collect.crawl_time_limit_s: SIGTERM, then SIGKILL
    draft_day: Weekday = "thu"
    draft_time: str = "14:00"
    send_day: Weekday = "mon"
    send_time: str = "08:00"
    uncurated_week: str = "automatic"  # automatic | skip (send nothing and alert)
    health_check_time: str = "03:30"  # nightly sources' health and disk check, then the digest
    retention_time: str = "04:00"  # nightly drop of raw bodies past raw_body_retention_days
    misfire_grace_s: WholeSeconds = (
        6 * 3600
    )  # a run missed while the machine was off still runs within
    send_misfire_grace_s: WholeSeconds = (
        2 * 86400
    )  # Monday's bulletin still goes out until Wednesday
    team_email: str = "equipe-veille@example.org"
    curators_email: str = ""  # Thursday's reminder; empty: team_email
    failing_runs_alert: PositiveInt = 3
    # No successful fetch for this many check_every (at most 365 days each): bounded, as the
    # product must stay a timedelta.
    silent_after_intervals: Annotated[float, Field(gt=0, le=1000)] = 4.0
    disk_free_alert_percent: Percent = 5.0
    log_file: Path = Path("output/logs/watcher.log")
    log_json: bool = False
    log_max_bytes: NonNegativeInt = 10 * 1024 * 1024
    log_backups: Annotated[int, Field(ge=0, le=1000)] = 10  # each rollover renames them all
    backup_dir: Path = Path("output/backups")
    # A century is "keep them"; more overflowed the date the bodies are dropped before.
    raw_body_retention_days: Annotated[int, Field(gt=0, le=36500)] = 90


class Settings(_Section):
    collect: CollectSettings = Field(default_factory=CollectSettings)
    classify: ClassifySettings = Field(default_factory=ClassifySettings)
    publish: PublishSettings = Field(default_factory=PublishSettings)
    delivery: DeliverySettings = Field(default_factory=DeliverySettings)
    desk: DeskSettings = Field(default_factory=DeskSettings)
    schedule: ScheduleSettings = Field(default_factory=ScheduleSettings)


def _too_many_digits(text: str) -> str:
    """What tomllib leaves unsaid, with the first line long enough to hold the number."""
    limit = sys.get_int_max_str_digits()
    where = next(
        (f"line {n}: " for n, line in enumerate(text.splitlines(), 1) if len(line) > limit), ""
    )
    return f"{where}a number of more than {limit} digits"


def load_settings(path: Path | str | None = None) -> Settings:
    """Defaults, overridden by the TOML file when there is one."""
    explicit = path or os.environ.get("WATCHER_SETTINGS")
    path = Path(explicit or DEFAULT_SETTINGS_PATH)
    if not explicit and not path.exists():
        return Settings()
    text = read_config_text(path, "settings")
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except ValueError:  # tomllib's int() on an integer past Python's digit limit
        raise ConfigError(f"{path}: not valid TOML: {_too_many_digits(text)}") from None
    try:
        return Settings.model_validate(data)
    except ValidationError as exc:
        lines = []
        for err in exc.errors():
            field = ".".join(str(p) for p in err["loc"])
            if err["type"] == "extra_forbidden":
                lines.append(f"{path}: {field}: unknown setting")
            else:
                message = err["msg"].removeprefix("Value error, ")
                lines.append(f"{path}: {field} = {err['input']!r}: {message}")
        raise ConfigError("\n".join(lines)) from None


def _toml_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(_toml_value(v) for v in value) + "]"
    return '"' + str(value).replace("\\", "\\\\").replace('"', '\\"') + '"'


def settings_toml(settings: Settings, header: list[str] | None = None) -> str:
    """Every key of ``settings`` as TOML that `load_settings` reads back the same."""
    lines = list(header or [])
    for section_name in Settings.model_fields:
        section = getattr(settings, section_name)
        lines += ["", f"[{section_name}]"]
        for key in type(section).model_fields:
            value = getattr(section, key)
            if value is None:
                lines.append(f"# {key} = (unset)")
            else:
                lines.append(f"{key} = {_toml_value(value)}")
    return "\n".join(lines) + "\n"


def example_toml() -> str:
    """Every setting with its default, as `watcher.example.toml` shows them."""
    return settings_toml(
        Settings(),
        [
            "# watcher settings: every key with its default value.",
            "# Copy to watcher.toml (or point --settings / WATCHER_SETTINGS at a copy) and",
            "# change what you need; a key left out keeps its default. Regenerate this file",
            "# with `python -m watcher.settings > watcher.example.toml`.",
        ],
    )


if __name__ == "__main__":
    print(example_toml(), end="")
