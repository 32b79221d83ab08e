"""sources.yaml: the typed, validated list of sources to watch.

The file is strict: an unknown key, a wrong type or a duplicate id stops the
program with a message naming the file, the source id and the field (every
problem of the file, one line each), because
a silently ignored typo means a missed call for projects.
"""

from __future__ import annotations

import math
import os
import re
import sys
from collections.abc import Iterable
from datetime import timedelta
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from watcher.base.vocabulary import ItemType, Scope, SourceKind
from watcher.exceptions import ConfigError
from watcher.files import read_config_text
from watcher.urls import url_problem

DEFAULT_SOURCES_PATH = Path("sources.yaml")

_DURATION = re.compile(r"^\s*(\d+)\s*([mhdw])\s*$")
_UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
# A source looked at less than once a year is a forgotten one; the bound also keeps
# a typo such as 99999999999999d from overflowing timedelta.
MAX_CHECK_EVERY = timedelta(days=365)


def _duration_seconds(value: Any) -> float:
    """The seconds of '30m', '6h', '1d', '2w' or a number of hours, not yet bounded
    (counted in Python numbers: a timedelta would overflow on a huge one)."""
    if isinstance(value, timedelta):
        return value.total_seconds()
    if isinstance(value, int | float) and not isinstance(value, bool):
        if math.isfinite(value):
            return value * 3600
    elif isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return int(match.group(1)) * _UNIT_SECONDS[match.group(2)]
    raise ValueError(f"'{value}' is not a duration such as 30m, 6h, 1d or 2w")


def parse_duration(value: Any) -> timedelta:
    """'30m', '6h', '1d', '2w' or a number of hours: more than zero, at most 365 days."""
    seconds = _duration_seconds(value)
    if seconds <= 0:
        raise ValueError(f"'{value}' must be more than zero (a duration such as 6h or 1d)")
    if seconds > MAX_CHECK_EVERY.total_seconds():
        raise ValueError(
            f"'{value}' is more than {MAX_CHECK_EVERY.days} days, the longest interval"
        )
    return timedelta(seconds=seconds)


def _checked_url(value: str) -> str:
    problem = url_problem(value)
    if problem:
        raise ValueError(f"'{value}' {problem}")
    return value


def css_problem(selector: str) -> str | None:
    """Why ``selector`` is not a CSS selector the crawl can use (Scrapy's: CSS plus
    ``::text`` and ``::attr(name)``), None when it is one.

    Checked here, with cssselect (what parsel builds on, without parsel's lxml import),
    so that ``sources validate`` refuses it: found only at crawl time, a typo failed the
    source at each run as an unexpected error.
    """
    from cssselect import HTMLTranslator, SelectorError, parse
    from cssselect.parser import FunctionalPseudoElement

    translator = HTMLTranslator()
    try:
        for parsed in parse(selector):
            translator.selector_to_xpath(parsed, translate_pseudo_elements=False)
            pseudo = parsed.pseudo_element
            if isinstance(pseudo, FunctionalPseudoElement):
                kinds = [token.type for token in pseudo.arguments]
                if pseudo.name != "attr" or kinds not in (["IDENT"], ["STRING"]):
                    return f"::{pseudo.name}() is not ::attr(name)"
            elif pseudo is not None and pseudo != "text":
                return f"the pseudo-element ::{pseudo} is unknown (::text and ::attr(name) are)"
    except SelectorError as exc:
        return str(exc)
    return None


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class LabelHints(_Strict):
    """Defaults the classifier applies to this source's items when the text is silent."""

    type: ItemType | None = None
    themes: list[str] = Field(default_factory=list)
    scope: Scope | None = None
    relevant: bool | None = None


class HtmlSelectors(_Strict):
    """CSS selectors (Scrapy/parsel syntax, ``::attr(href)`` and ``::text`` allowed)."""

    item: str | None = None  # container of one item; selectors below are relative to it
    link: str
    title: str | None = None
    date: str | None = None
    summary: str | None = None
    next_page: str | None = None
    page_limit: int = Field(default=1, ge=1, le=50)

    @field_validator("item", "link", "title", "date", "summary", "next_page")
    @classmethod
    def _css(cls, value: str | None) -> str | None:
        problem = None if value is None else css_problem(value)
        if problem:
            raise ValueError(f"'{value}' is not a CSS selector: {problem}")
        return value


class ApiPagination(_Strict):
    style: Literal["page", "offset", "next_url", "none"] = "none"
    param: str = "page"  # query parameter carrying the page number or offset
    size_param: str | None = None
    size: int = Field(default=50, ge=1, le=1000)
    next_field: str | None = None  # dotted path to the next page URL, for style next_url
    start: int = 1
    max_pages: int = Field(default=5, ge=1, le=200)


class ApiAuth(_Strict):
    """How to authenticate; the secret itself lives in the named environment variable."""

    style: Literal["header", "query", "aides_territoires", "eu_funding_tenders"]
    key_env: str
    header: str = "Authorization"
    param: str = "apiKey"
    token_url: str | None = None  # for token exchanges (aides_territoires)

    @field_validator("token_url")
    @classmethod
    def _http_url(cls, value: str | None) -> str | None:
        return value if value is None else _checked_url(value)

    @field_validator("key_env")
    @classmethod
    def _looks_like_env_name(cls, value: str) -> str:
        if not re.fullmatch(r"[A-Z_][A-Z0-9_]*", value):
            raise ValueError(
                f"'{value}' is not an environment variable name: write the variable's name "
                "(e.g. AIDES_TERRITOIRES_API_KEY), never the key itself"
            )
        return value

    def secret(self) -> str | None:
        return os.environ.get(self.key_env)


class ApiMapping(_Strict):
    """Where to find items and their fields in a JSON response (dotted paths)."""

    items_path: str = ""  # dotted path to the list of items; empty: the response is the list
    fields: dict[str, str]  # our field -> dotted path; needs at least url and title
    method: Literal["GET", "POST"] = "GET"
    params: dict[str, str | int] = Field(default_factory=dict)
    body: dict[str, Any] | None = None
    pagination: ApiPagination = Field(default_factory=ApiPagination)
    auth: ApiAuth | None = None

    @field_validator("fields")
    @classmethod
    def _required_fields(cls, value: dict[str, str]) -> dict[str, str]:
        known = {"url", "title", "summary", "text", "published", "deadline", "id", "language"}
        missing = {"url", "title"} - set(value)
        if missing:
            raise ValueError(f"needs a mapping for {', '.join(sorted(missing))}")
        unknown = set(value) - known
        if unknown:
            raise ValueError(
                f"unknown field(s) {', '.join(sorted(unknown))}; known: {', '.join(sorted(known))}"
            )
        return value


class SitemapOptions(_Strict):
    url_pattern: str = ".*"  # regular expression a URL must match to become an item

    @field_validator("url_pattern")
    @classmethod
    def _compiles(cls, value: str) -> str:
        try:
            re.compile(value)
        except re.error as exc:
            raise ValueError(f"not a valid regular expression: {exc}") from exc
        return value


class JorfOptions(_Strict):
    natures: list[str] = Field(default_factory=list)  # keep only these natures (empty: all)
    keywords: list[str] = Field(default_factory=list)  # keep texts whose title has one (empty: all)
    max_archives: int = Field(default=4, ge=1, le=60)  # archives taken on a first run


class Source(_Strict):
    id: str = Field(pattern=r"^[a-z0-9][a-z0-9-]*$")
    name: str
    organisation: str = ""
    kind: SourceKind
    url: str
    scope: Scope = "france"
    hints: LabelHints = Field(default_factory=LabelHints)
    check_every: Annotated[timedelta, Field(default=timedelta(hours=6))]
    fetch_article: bool = True
    enabled: bool = True
    html: HtmlSelectors | None = None
    api: ApiMapping | None = None
    sitemap: SitemapOptions | None = None
    jorf: JorfOptions | None = None
    notes: str = ""

    @field_validator("check_every", mode="before")
    @classmethod
    def _duration(cls, value: Any) -> timedelta:
        return parse_duration(value)

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        return _checked_url(value)

    @model_validator(mode="after")
    def _kind_options(self) -> Source:
        if self.kind == "html" and self.html is None:
            raise ValueError("kind 'html' needs an 'html' block with at least a 'link' selector")
        if self.kind == "api" and self.api is None:
            raise ValueError("kind 'api' needs an 'api' block with 'fields' (url, title)")
        for block in ("html", "api", "sitemap", "jorf"):
            if getattr(self, block) is not None and self.kind != block:
                raise ValueError(f"block '{block}' only applies to kind '{block}'")
        return self


class SourcesFile(_Strict):
    sources: list[Source]

    @model_validator(mode="after")
    def _unique_ids(self) -> SourcesFile:
        seen: set[str] = set()
        for source in self.sources:
            if source.id in seen:
                raise ValueError(f"duplicate source id '{source.id}'")
            seen.add(source.id)
        return self

    def enabled(self, only: list[str] | tuple[str, ...] | None = None) -> list[Source]:
        if only:
            unknown = set(only) - {s.id for s in self.sources}
            if unknown:
                raise ConfigError(
                    f"unknown source id(s): {', '.join(sorted(unknown))}",
                    hint="`watcher sources validate` lists the ids of the file.",
                )
            return [s for s in self.sources if s.id in only]
        return [s for s in self.sources if s.enabled]

    def hints_for(self, source_ids: list[str]) -> dict[str, Any]:
        """The label hints of the first of these sources that gives some (ids no longer
        in the file are skipped): what the classifier takes as priors for an item."""
        by_id = {source.id: source for source in self.sources}
        for source_id in source_ids:
            source = by_id.get(source_id)
            if source is None:
                continue
            hints = {k: v for k, v in source.hints.model_dump().items() if v not in (None, [], {})}
            if hints:
                return hints
        return {}

    def get(self, source_id: str) -> Source:
        for source in self.sources:
            if source.id == source_id:
                return source
        raise ConfigError(f"unknown source id '{source_id}'")


def _where(index: int, raw_sources: list[Any], file_name: str) -> str:
    """The file and the source at ``index``: its id, or its position when it has none."""
    raw = raw_sources[index] if index < len(raw_sources) else {}
    source_id = raw.get("id") if isinstance(raw, dict) else None
    return (
        f"{file_name}: source '{source_id}'" if source_id else f"{file_name}: source #{index + 1}"
    )


def _error_position(error: dict[str, Any]) -> int:
    """The index of the source an error is about; -1 for the file itself."""
    loc = error["loc"]
    if len(loc) >= 2 and loc[0] == "sources" and isinstance(loc[1], int):
        return loc[1]
    return -1


def _describe_error(error: dict[str, Any], raw_sources: list[Any], file_name: str) -> str:
    loc = list(error["loc"])
    where = file_name
    if _error_position(error) >= 0:
        where = _where(loc[1], raw_sources, file_name)
        loc = loc[2:]
    field = ".".join(str(part) for part in loc if not str(part).startswith("function-after"))
    # Literal unions report one loc per branch; keep the field name readable.
    field = re.sub(r"\.literal\[.*?\]", "", field)
    message = error["msg"]
    value = error.get("input")
    if error["type"] == "literal_error" and field:
        allowed = re.findall(r"'([^']*)'", message)
        message = f"'{value}' is not one of {', '.join(allowed)}"
    elif error["type"] == "extra_forbidden":
        message = "unknown key (check its spelling)"
    elif error["type"] == "missing":
        message = "is required"
    elif error["type"] == "string_type" and isinstance(value, bool):
        # YAML reads yes, no, on, off, true and false unquoted as a boolean.
        message = "was read as yes/no, not as text; write the text in quotes"
    elif error["type"] == "string_type" and isinstance(value, int | float):
        message = f'{value!r} was read as a number, not as text; write it in quotes: "{value}"'
    elif message.startswith("Value error, "):
        message = message.removeprefix("Value error, ")
    return f"{where}: {field} {message}".replace(":  ", ": ") if field else f"{where}: {message}"


# LibYAML's parser when PyYAML was built with it (ten times faster), else PyYAML's own.
_SafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def _scalar_or_yaml_error(construct: Any) -> Any:
    """A scalar constructor whose ValueError becomes a YAML error at the scalar's line;
    it escaped as a bug (a date such as 2026-13-45, an integer of over 4300 digits)."""

    def checked(loader: Any, node: yaml.ScalarNode) -> Any:
        try:
            return construct(loader, node)
        except ValueError as exc:
            reason = str(exc)
            if "integer string conversion" in reason:  # Python's own wording names a fix
                reason = f"more than {sys.get_int_max_str_digits()} digits"
            value = node.value if len(node.value) <= 40 else node.value[:40] + "…"
            raise yaml.constructor.ConstructorError(
                None, None, f"'{value}' cannot be read: {reason}", node.start_mark
            ) from None

    return checked


class _Loader(_SafeLoader):
    pass


for _tag in ("int", "float", "timestamp"):
    _Loader.add_constructor(
        f"tag:yaml.org,2002:{_tag}",
        _scalar_or_yaml_error(getattr(yaml.constructor.SafeConstructor, f"construct_yaml_{_tag}")),
    )


def _load_yaml(text: str) -> Any:
    """yaml.safe_load without anchors and aliases.

    A 400-byte file of nested aliases ("billion laughs") expands to billions
    of nodes once validated; sources.yaml has no use for them, so the event
    stream is checked for them before the document is built.
    """
    # One frame per open mapping or list: [is a mapping, its keys, next node is a key].
    open_nodes: list[list[Any]] = []
    for event in yaml.parse(text, Loader=_SafeLoader):
        if isinstance(event, yaml.AliasEvent) or getattr(event, "anchor", None):
            raise yaml.composer.ComposerError(
                None,
                None,
                "YAML anchors and aliases (&name, *name) are not accepted; write each source in full",
                event.start_mark,
            )
        if isinstance(event, yaml.ScalarEvent | yaml.MappingStartEvent | yaml.SequenceStartEvent):
            _check_key(open_nodes[-1] if open_nodes else None, event)
            if isinstance(event, yaml.MappingStartEvent):
                open_nodes.append([True, set(), True])
            elif isinstance(event, yaml.SequenceStartEvent):
                open_nodes.append([False, None, False])
        elif isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
            open_nodes.pop()
    return yaml.load(text, Loader=_Loader)  # noqa: S506 - a safe loader


def _check_key(parent: list[Any] | None, event: yaml.Event) -> None:
    """A key written twice in one mapping: YAML keeps the last silently, and a
    second ``sources:`` block would drop every source of the first."""
    if parent is None or not parent[0]:
        return
    if not parent[2]:  # a value: the next node is a key again
        parent[2] = True
        return
    parent[2] = False
    if isinstance(event, yaml.ScalarEvent):
        if event.value in parent[1]:
            raise yaml.composer.ComposerError(
                None, None, f"duplicate key '{event.value}'", event.start_mark
            )
        parent[1].add(event.value)


def _yaml_problem(exc: yaml.YAMLError) -> str:
    """One line: where and what, without PyYAML's multi-line excerpt."""
    mark = getattr(exc, "problem_mark", None)
    problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
    if mark is None:
        return problem
    return f"line {mark.line + 1}, column {mark.column + 1}: {problem}"


def _duplicate_ids(raw_sources: list[Any], file_name: str) -> list[tuple[int, str]]:
    """A second source with an id already taken, read from the raw entries: the model's
    own check runs only once every source is valid, and hid the duplicate until then."""
    first: dict[str, int] = {}
    problems = []
    for index, raw in enumerate(raw_sources):
        source_id = raw.get("id") if isinstance(raw, dict) else None
        if not isinstance(source_id, str):
            continue
        if source_id in first:
            problems.append(
                (
                    index,
                    f"{file_name}: duplicate source id '{source_id}' "
                    f"(sources #{first[source_id] + 1} and #{index + 1})",
                )
            )
        else:
            first[source_id] = index
    return problems


def _unknown_themes(
    raw_sources: list[Any], themes: Iterable[str], file_name: str
) -> list[tuple[int, str]]:
    """A ``hints.themes`` entry that is not a theme of the taxonomy: the classifier
    skips a theme it does not know, so a typo (``energy``) silently gave no prior at all.
    The themes come from the settings' taxonomy, hence a check apart from the schema;
    read from the raw entries so that it is reported along with the schema's problems
    (a list that is not one of text is the schema's to report)."""
    known = list(themes)
    problems = []
    for index, raw in enumerate(raw_sources):
        hints = raw.get("hints") if isinstance(raw, dict) else None
        listed = hints.get("themes") if isinstance(hints, dict) else None
        if not isinstance(listed, list):
            continue
        where = _where(index, raw_sources, file_name)
        problems += [
            (index, f"{where}: hints.themes '{theme}' is not one of " + ", ".join(known))
            for theme in listed
            if isinstance(theme, str) and theme not in known
        ]
    return problems


def parse_sources(
    text: str, file_name: str = "sources.yaml", themes: Iterable[str] | None = None
) -> SourcesFile:
    """The sources of ``text``; with ``themes`` (the taxonomy's theme ids), the themes of
    the label hints are checked too.

    Every problem of the file is reported at once, one line each in the order of the
    sources, then a count when there are several: fixing a file one run per mistake was
    the linter's job done badly. A file that is not YAML is one error, at its line.
    """
    try:
        data = _load_yaml(text)
    except yaml.YAMLError as exc:
        raise ConfigError(f"{file_name}: not valid YAML: {_yaml_problem(exc)}") from None
    if not isinstance(data, dict) or "sources" not in data:
        raise ConfigError(f"{file_name}: expected a mapping with a 'sources' list")
    raw_sources = data.get("sources") or []
    if not isinstance(raw_sources, list):
        raise ConfigError(f"{file_name}: 'sources' must be a list of sources")
    problems = _duplicate_ids(raw_sources, file_name)
    if themes is not None:
        problems += _unknown_themes(raw_sources, themes, file_name)
    loaded: SourcesFile | None = None
    try:
        loaded = SourcesFile.model_validate(data)
    except ValidationError as exc:
        for err in exc.errors():
            if not err["loc"] and problems and "duplicate source id" in err["msg"]:
                continue  # SourcesFile's own check: already found by _duplicate_ids
            problems.append((_error_position(err), _describe_error(err, raw_sources, file_name)))
    if problems or loaded is None:
        # Stable sort: by source, in file order; within a source, the schema's order.
        lines = list(dict.fromkeys(line for _, line in sorted(problems, key=lambda p: p[0])))
        if len(lines) > 1:
            lines.append(f"{len(lines)} problems in {file_name}")
        raise ConfigError("\n".join(lines))
    return loaded


def load_sources(
    path: Path | str | None = None, themes: Iterable[str] | None = None, *, name: str | None = None
) -> SourcesFile:
    """The sources file at ``path``; with ``themes`` (the taxonomy's theme ids), the
    themes of the label hints are checked too. ``name`` is the file named in messages
    (the desk checks a temporary copy, which the curators never saw)."""
    path = Path(path or os.environ.get("WATCHER_SOURCES") or DEFAULT_SOURCES_PATH)
    text = read_config_text(path, "sources", hint="pass --sources PATH or set WATCHER_SOURCES")
    return parse_sources(text, name or path.name, themes)
