"""Subscribers: validated adding, updating, removal and CSV import.

A subscriber chooses themes (none means every theme) and optionally types
and scopes, all ids of LABELS.md. The subscription time is recorded so that
the first mail is the next bulletin published, never the backlog.

An address is one subscriber whatever its case. Adding an address that is
there already updates its choices; an address that unsubscribed is never
re-subscribed by the team: only its owner can, through the public form and its
confirmation e-mail (double opt-in).
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
from watcher.exceptions import ConfigError, WatcherError
from watcher.store import Store
from watcher.store import delivery as log

MAX_CSV_BYTES = 20 * 1024 * 1024
MAX_FIELD_CHARS = 1000  # a name, an address or a list of ids: never longer than this

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


def checked_address(email: str) -> str:
    try:
        return validate_email(email)
    except AddressError as exc:
        raise ConfigError(f"email: {exc}") from None


def parse_choices(
    taxonomy: Taxonomy,
    themes: str | Iterable[str] | None,
    types: str | Iterable[str] | None,
    scopes: str | Iterable[str] | None,
) -> dict[str, list[str]]:
    return {
        "themes": parse_ids(themes, tuple(taxonomy.ids("themes")), "themes"),
        "types": parse_ids(types, tuple(taxonomy.ids("types")), "types"),
        "scopes": parse_ids(scopes, tuple(taxonomy.ids("scopes")), "scope"),
    }


class SubscriberLeft(ConfigError):
    """The address unsubscribed: only its owner may come back (double opt-in)."""

    def __init__(self, subscriber: dict[str, Any]) -> None:
        left = subscriber.get("unsubscribed_at")
        when = f" on {left:%Y-%m-%d}" if left else ""
        super().__init__(
            f"<{subscriber['email']}> unsubscribed{when}: only they can subscribe again",
            hint="send them the subscription form's address (desk.public_url + abonnement/); "
            "they confirm from their mailbox",
        )


@dataclass
class Saved:
    id: int
    outcome: str  # added | updated | unchanged


def save_subscriber(
    store: Store,
    email: str,
    name: str = "",
    themes: str | Iterable[str] | None = None,
    types: str | Iterable[str] | None = None,
    scopes: str | Iterable[str] | None = None,
    *,
    created_at: datetime | None = None,
    taxonomy: Taxonomy | None = None,
) -> Saved:
    """Add an active subscriber, or give an existing (active or paused) one these
    choices; SubscriberLeft for an address that unsubscribed, ConfigError for a bad
    address or an unknown id (ids of ``taxonomy``, by default the bundled one)."""
    address = checked_address(email)
    choices = {
        "name": clean_name(name),
        **parse_choices(taxonomy or taxonomy_for(), themes, types, scopes),
    }
    existing = log.get_subscriber(store, email=address)
    if existing is not None and existing["status"] == "unsubscribed":
        raise SubscriberLeft(existing)
    outcome = log.save_subscribers(store, [{"email": address, "created_at": created_at, **choices}])
    saved = log.get_subscriber(store, email=address)
    assert saved is not None
    return Saved(saved["id"], outcome[address])


def add_subscriber(store: Store, email: str, *args: Any, **kwargs: Any) -> int:
    """`save_subscriber` (same arguments), returning the subscriber's id."""
    return save_subscriber(store, email, *args, **kwargs).id


def update_subscriber(
    store: Store,
    email: str,
    *,
    name: str | None = None,
    themes: str | Iterable[str] | None = None,
    types: str | Iterable[str] | None = None,
    scopes: str | Iterable[str] | None = None,
    taxonomy: Taxonomy | None = None,
) -> dict[str, Any]:
    """Change only what is given (``"all"`` or ``[]``: everything); ConfigError when
    the address is unknown or an id is not in the taxonomy."""
    taxonomy = taxonomy or taxonomy_for()
    existing = log.get_subscriber(store, email=email.strip())
    if existing is None:
        raise ConfigError(f"no subscriber <{email.strip()}>")
    changes: dict[str, Any] = {}
    if name is not None:
        changes["name"] = clean_name(name)
    for column, group, value, what in (
        ("themes", "themes", themes, "themes"),
        ("types", "types", types, "types"),
        ("scopes", "scopes", scopes, "scope"),
    ):
        if value is not None:
            changes[column] = parse_ids(value, tuple(taxonomy.ids(group)), what)
    updated = log.update_subscriber(store, existing["id"], **changes)
    assert updated is not None
    return updated


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
    updated: list[str] = field(default_factory=list)
    existing: list[str] = field(default_factory=list)  # there already, choices unchanged
    left: list[str] = field(default_factory=list)  # unsubscribed: not re-subscribed
    errors: list[str] = field(default_factory=list)

    def summary(self) -> str:
        parts = [
            f"{len(self.added)} added",
            f"{len(self.updated)} updated",
            f"{len(self.existing)} already present",
        ]
        if self.left:
            parts.append(
                f"{len(self.left)} unsubscribed earlier (not re-subscribed: "
                "only they can, through the subscription form)"
            )
        return ", ".join(parts) + f", {len(self.errors)} bad row(s)."


KNOWN_COLUMNS = ("email", "name", "themes", "types", "scope")


def import_csv(store: Store, path: Path | str, *, taxonomy: Taxonomy | None = None) -> ImportReport:
    """Keep every good row, report each bad one with file, line and field.

    Columns: email (required), name, themes, types, scope; lists separated by
    ``;`` or ``|``. A header line is required; ``,`` or ``;`` as delimiter. The
    whole file is read and checked first, then the good rows are written in one
    transaction: an import is never left half-done. An address there already
    gets the row's choices; one that unsubscribed is reported, not re-subscribed.
    """
    rows, errors = read_csv(path, taxonomy=taxonomy)
    return import_rows(store, rows, errors)


def read_csv(
    path: Path | str, *, taxonomy: Taxonomy | None = None
) -> tuple[list[dict[str, Any]], list[str]]:
    """The good rows of the file and one message per bad row, without the store;
    ConfigError for a file that cannot be read or has no usable header."""
    return _read_rows(Path(path), taxonomy or taxonomy_for())


def import_rows(store: Store, rows: list[dict[str, Any]], errors: list[str]) -> ImportReport:
    """Save what `read_csv` found, in one transaction."""
    report = ImportReport(errors=errors)
    outcome = log.save_subscribers(store, rows) if rows else {}
    for email, result in outcome.items():
        {
            "added": report.added,
            "updated": report.updated,
            "unchanged": report.existing,
            "unsubscribed": report.left,
        }[result].append(email)
    return report


def _read_text(path: Path) -> str:
    try:
        size = path.stat().st_size
        if size > MAX_CSV_BYTES:
            raise ConfigError(
                f"{path}: {size:,} bytes; a subscribers' file is at most {MAX_CSV_BYTES:,}"
            )
        return path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the file: {exc}") from exc


def _read_rows(path: Path, taxonomy: Taxonomy) -> tuple[list[dict[str, Any]], list[str]]:
    """(good rows, one message per bad row); ConfigError for an unusable header."""
    raw = _read_text(path)
    try:  # the header tells the delimiter; quoting is always Excel's, strictly read
        sniffed = csv.Sniffer().sniff(raw.split("\n", 1)[0][:MAX_FIELD_CHARS], ",;\t")
        delimiter = sniffed.delimiter
    except csv.Error:
        delimiter = ","
    reader = csv.reader(io.StringIO(raw), delimiter=delimiter, strict=True)
    try:
        header = [c.strip().lower() for c in next(reader, [])]
    except csv.Error as exc:
        raise ConfigError(f"{path}: line 1: unreadable header: {exc}") from None
    if "email" not in header:
        raise ConfigError(f"{path}: line 1: the header has no 'email' column (found {header})")
    unknown = [c for c in header if c not in KNOWN_COLUMNS]
    if unknown:
        raise ConfigError(
            f"{path}: line 1: unknown column(s) {unknown}; expected {list(KNOWN_COLUMNS)}"
        )
    rows: list[dict[str, Any]] = []
    errors: list[str] = []
    first_line: dict[str, int] = {}
    line = 1
    while True:
        start = reader.line_num + 1
        try:
            cells = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(f"{path}: line {start}: not a CSV row ({exc})")
            continue
        line = start
        if not any(c.strip() for c in cells):
            continue
        problems = _row_problems(cells, header, taxonomy)
        if isinstance(problems, list):
            errors += [f"{path}: line {line}: {p}" for p in problems]
            continue
        key = problems["email"].lower()
        if key in first_line:
            errors.append(
                f"{path}: line {line}: field 'email': <{problems['email']}> "
                f"is already on line {first_line[key]}"
            )
            continue
        first_line[key] = line
        rows.append(problems)
    return rows, errors


def _row_problems(
    cells: list[str], header: list[str], taxonomy: Taxonomy
) -> dict[str, Any] | list[str]:
    """The row as a subscriber (email, name, themes, types, scopes), or its problems."""
    if len(cells) != len(header):
        return [f"{len(cells)} field(s) where the header has {len(header)}"]
    values = {k: v.strip() for k, v in zip(header, cells, strict=True)}
    long = [k for k, v in values.items() if len(v) > MAX_FIELD_CHARS]
    if long:
        return [f"field '{k}': longer than {MAX_FIELD_CHARS} characters" for k in long]
    problems = []
    try:
        values["email"] = validate_email(values.get("email", ""))
    except AddressError as exc:
        problems.append(f"field 'email': {exc}")
    choices: dict[str, list[str]] = {}
    for column, group, key in (
        ("themes", "themes", "themes"),
        ("types", "types", "types"),
        ("scope", "scopes", "scopes"),
    ):
        try:
            choices[key] = parse_ids(
                values.get(column), tuple(taxonomy.ids(group)), f"field '{column}'"
            )
        except WatcherError as exc:
            problems.append(exc.message)
    if problems:
        return problems
    return {"email": values["email"], "name": clean_name(values.get("name", "")), **choices}
