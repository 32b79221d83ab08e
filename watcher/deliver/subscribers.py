"""Subscribers: validated adding, removal and CSV import.

A subscriber chooses themes (none means every theme) and optionally types
and scopes, all ids of LABELS.md. The subscription time is recorded so that
the first mail is the next bulletin published, never the backlog.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from watcher.base.taxonomy import Taxonomy, taxonomy_for
from watcher.deliver.message import AddressError, clean_name, validate_email
from watcher.exceptions import ConfigError
from watcher.store import Store
from watcher.store import delivery as log

_ALL = {"", "all", "tous", "toutes", "*"}


def parse_ids(value: str | Iterable[str] | None, allowed: tuple[str, ...], what: str) -> list[str]:
    """`"eau; energie"` or a list -> sorted unique ids; `all`/empty -> [] (everything)."""
    if value is None:
        return []
    parts = (
        value.replace(";", ",").replace("|", ",").split(",") if isinstance(value, str) else value
    )
    ids = sorted({p.strip() for p in parts if p and p.strip()})
    if len(ids) == 1 and ids[0].lower() in _ALL or not ids:
        return []
    unknown = [i for i in ids if i not in allowed]
    if unknown:
        raise ConfigError(
            f"{what}: unknown id(s) {', '.join(unknown)}; expected some of {', '.join(allowed)}"
        )
    return ids


def add_subscriber(
    store: Store,
    email: str,
    name: str = "",
    themes: str | Iterable[str] | None = None,
    types: str | Iterable[str] | None = None,
    scopes: str | Iterable[str] | None = None,
    *,
    created_at: datetime | None = None,
    taxonomy: Taxonomy | None = None,
) -> int:
    """A new active subscriber; ConfigError for a bad address or an unknown id
    (ids of ``taxonomy``, by default the bundled one: pass ``taxonomy_for(settings)``)."""
    taxonomy = taxonomy or taxonomy_for()
    try:
        address = validate_email(email)
    except AddressError as exc:
        raise ConfigError(f"email: {exc}") from None
    existing = log.get_subscriber(store, email=address)
    if existing is not None:
        raise ConfigError(f"subscriber <{address}> exists already (status {existing['status']})")
    return log.insert_subscriber(
        store,
        email=address,
        name=clean_name(name),
        themes=parse_ids(themes, tuple(taxonomy.ids("themes")), "themes"),
        types=parse_ids(types, tuple(taxonomy.ids("types")), "types"),
        scopes=parse_ids(scopes, tuple(taxonomy.ids("scopes")), "scope"),
        created_at=created_at,
    )


def remove_subscriber(store: Store, email: str, *, delete: bool = False) -> None:
    """Unsubscribe (kept for the delivery log) or, with ``delete``, forget the address."""
    found = (
        log.delete_subscriber(store, email.strip())
        if delete
        else log.set_subscriber_status(store, email.strip(), "unsubscribed")
    )
    if not found:
        raise ConfigError(f"no subscriber <{email.strip()}>")


@dataclass
class ImportReport:
    added: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)
    errors: list[str] = field(default_factory=list)


REQUIRED_COLUMNS = ("email",)
KNOWN_COLUMNS = ("email", "name", "themes", "types", "scope")


def import_csv(store: Store, path: Path | str, *, taxonomy: Taxonomy | None = None) -> ImportReport:
    """Add every valid row; bad rows are reported with file, line and field, never stop the rest.

    Columns: email (required), name, themes, types, scope; lists separated by
    ``;`` or ``|``. A header line is required; ``,`` or ``;`` as delimiter.
    """
    path = Path(path)
    taxonomy = taxonomy or taxonomy_for()
    try:
        raw = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc}") from exc
    try:
        dialect: Any = csv.Sniffer().sniff(raw.split("\n", 1)[0], delimiters=",;\t")
    except csv.Error:
        dialect = csv.excel
    reader = csv.DictReader(io.StringIO(raw), dialect=dialect)
    columns = [c.strip().lower() for c in reader.fieldnames or []]
    if "email" not in columns:
        raise ConfigError(f"{path}: line 1: the header has no 'email' column (found {columns})")
    unknown = [c for c in columns if c not in KNOWN_COLUMNS]
    if unknown:
        raise ConfigError(
            f"{path}: line 1: unknown column(s) {unknown}; expected {list(KNOWN_COLUMNS)}"
        )
    report = ImportReport()
    for row in reader:
        line = reader.line_num
        values = {(k or "").strip().lower(): (v or "").strip() for k, v in row.items() if k}
        if not any(values.values()):
            continue
        problems = _row_problems(values, taxonomy)
        if problems:
            report.errors += [f"{path}: line {line}: {p}" for p in problems]
            continue
        if log.get_subscriber(store, email=values["email"]) is not None:
            report.existing.append(values["email"])
            continue
        add_subscriber(
            store,
            values["email"],
            values.get("name", ""),
            values.get("themes"),
            values.get("types"),
            values.get("scope"),
            taxonomy=taxonomy,
        )
        report.added.append(values["email"])
    return report


def _row_problems(values: dict[str, str], taxonomy: Taxonomy) -> list[str]:
    problems = []
    try:
        values["email"] = validate_email(values.get("email", ""))
    except AddressError as exc:
        problems.append(f"field 'email': {exc}")
    for column, group in (("themes", "themes"), ("types", "types"), ("scope", "scopes")):
        try:
            parse_ids(values.get(column), tuple(taxonomy.ids(group)), f"field '{column}'")
        except ConfigError as exc:
            problems.append(exc.message)
    return problems
