"""From a raw page line to typed records: the one parse path extraction and reparse share.

A platform module declares one `FieldMap` per entity (which API field fills which record
column, with its type: the record's Arrow schema is built from it) and, per endpoint, which
entities a page holds (`EndpointSpec`). `parse_line` does the rest the same way for every
platform: decode the body, count what was served, land what is well-formed, quarantine the
rest with a reason. Because it reads only the raw line, `kol reparse` gives the same records.
"""

from __future__ import annotations

import functools
import json
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any

import pyarrow as pa

from ingestion.arrowrows import rows_to_table
from ingestion.landing import Quarantined
from ingestion.records import BOOL, COMMON, I64, STR, STRLIST, TS
from ingestion.redaction import author_hash
from ingestion.roster import account_key


class BadRecord(ValueError):
    """One item is not the documented shape; the message is the quarantine reason."""


class BadShape(ValueError):
    """The page as a whole is not the documented shape (counts as one quarantined record)."""


# --- coercion: strict where the docs are strict, NULL where the platform is silent ----

_INT_RE = re.compile(r"^-?\d+$")


def req_id(value: Any, name: str) -> str:
    if isinstance(value, bool) or value is None:
        raise BadRecord(f"missing required id `{name}`")
    if isinstance(value, int):
        return str(value)
    if isinstance(value, str) and value.strip():
        return value.strip()
    raise BadRecord(f"`{name}` must be a non-empty string id, got {type(value).__name__}")


def opt_int(value: Any, name: str) -> int | None:
    """Counts: ints, or numeric strings (YouTube sends every count as a string)."""
    if value is None:
        return None
    if isinstance(value, bool):
        raise BadRecord(f"`{name}` must be a count, got a boolean")
    if isinstance(value, int):
        return value
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, str) and _INT_RE.match(value.strip()):
        return int(value.strip())
    raise BadRecord(f"`{name}` must be a whole number, got {value!r:.40}")


def opt_str(value: Any, name: str) -> str | None:
    if value is None or isinstance(value, str):
        return value
    raise BadRecord(f"`{name}` must be text, got {type(value).__name__}")


def opt_bool(value: Any, name: str) -> bool | None:
    if value is None or isinstance(value, bool):
        return value
    raise BadRecord(f"`{name}` must be true/false, got {value!r:.40}")


def ts_iso(value: Any, name: str, required: bool = True) -> datetime | None:
    """ISO 8601 / RFC 3339 (`+0000`, `Z`, fractions) to an aware UTC datetime."""
    if value is None and not required:
        return None
    if not isinstance(value, str):
        raise BadRecord(f"`{name}` must be an ISO 8601 timestamp, got {value!r:.40}")
    try:
        parsed = datetime.fromisoformat(value.strip())
    except ValueError:
        raise BadRecord(f"`{name}` is not an ISO 8601 timestamp: {value!r:.40}") from None
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.astimezone(UTC)


def ts_unix(value: Any, name: str) -> datetime:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise BadRecord(f"`{name}` must be Unix seconds, got {value!r:.40}")
    try:
        seconds = float(value)
        return datetime.fromtimestamp(seconds, tz=UTC)
    except (ValueError, OverflowError, OSError):
        raise BadRecord(f"`{name}` is not Unix seconds: {value!r:.40}") from None


def str_list(value: Any, name: str) -> list[str]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        raise BadRecord(f"`{name}` must be a list of strings")
    return list(value)


def items_at(body: Any, *path: str, required: bool = True) -> list[Any]:
    """The list at `path` in the body (absent -> [] unless required); wrong type -> BadShape."""
    node = body
    for key in path:
        if not isinstance(node, dict):
            raise BadShape(f"expected an object at `{'.'.join(path)}`")
        if key not in node:
            if required:
                raise BadShape(f"missing `{'.'.join(path)}`")
            return []
        node = node[key]
    if node is None and not required:
        return []
    if not isinstance(node, list):
        raise BadShape(f"`{'.'.join(path)}` must be a list, got {type(node).__name__}")
    return node


# --- the page context -------------------------------------------------------------------


@dataclass
class PageContext:
    """What a builder may know: the raw line (accounts, request context) and the salt."""

    line: dict[str, Any]
    salt: str
    body: Any = None

    @property
    def accounts(self) -> list[dict[str, Any]]:
        return self.line.get("accounts") or []

    @property
    def account(self) -> dict[str, Any]:
        if not self.accounts:
            raise BadShape("raw line names no account")
        return self.accounts[0]

    @property
    def context(self) -> dict[str, Any]:
        return self.line.get("context") or {}

    def account_by(self, key: str, value: str | None) -> dict[str, Any]:
        """The roster account a batch item belongs to (YouTube channel id, X username)."""
        if value is not None:
            for acc in self.accounts:
                if str(acc.get(key) or "").casefold() == value.casefold():
                    return acc
        raise BadRecord(f"item {key}={value!r} was not requested for any roster account")

    def hashed(self, identity: Any) -> str | None:
        if identity is None:
            return None
        return author_hash(str(identity), self.salt)


Lister = Callable[[Any, PageContext], list[Any]]
Read = Callable[[Any, str], Any]  # a coercion: (API value, its path) -> typed value or BadRecord
Derive = Callable[[Any, PageContext], Any]  # a column computed from the item and the page


def at_path(item: Any, path: str) -> Any:
    """item[a][b]... for the dotted path "a.b" (None when a step is missing or not an object)."""
    node = item
    for key in path.split("."):
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    return node


@dataclass(frozen=True)
class Field:
    """One record column: its Arrow type and where its value comes from in an API item.

    Either `path` (a dotted API field path) read with `read`, or `derive` for a column the API
    does not hold as one field (the roster account, a request's context, a computed value).
    """

    column: str
    type: pa.DataType
    path: str | None = None
    read: Read | None = None
    derive: Derive | None = None

    def value(self, item: Any, ctx: PageContext) -> Any:
        if self.derive is not None:
            return self.derive(item, ctx)
        assert self.path is not None and self.read is not None, self.column
        return self.read(at_path(item, self.path), self.path)


def ident(column: str, path: str = "id") -> Field:
    """A required id (ints become strings)."""
    return Field(column, STR, path, req_id)


def text(column: str, path: str | None = None) -> Field:
    return Field(column, STR, path or column, opt_str)


def count(column: str, path: str | None = None) -> Field:
    """A count; NULL when the platform does not send it (hidden, not available), never 0."""
    return Field(column, I64, path or column, opt_int)


def flag(column: str, path: str | None = None) -> Field:
    return Field(column, BOOL, path or column, opt_bool)


def texts(column: str, path: str | None = None) -> Field:
    """A list of strings; absent = empty list."""
    return Field(column, STRLIST, path or column, str_list)


def iso_time(column: str, path: str, required: bool = True) -> Field:
    return Field(column, TS, path, lambda v, name: ts_iso(v, name, required))


def unix_time(column: str, path: str) -> Field:
    return Field(column, TS, path, ts_unix)


def derived(column: str, type_: pa.DataType, derive: Derive) -> Field:
    return Field(column, type_, derive=derive)


def from_roster(column: str, key: str | None = None) -> Field:
    """The page's roster account's value (creator_id, account_id, handle)."""
    return derived(column, STR, lambda item, ctx: ctx.account[key or column])


def from_context(column: str, key: str | None = None) -> Field:
    """A required id the request carried in its context (the post a comment page is for)."""
    name = key or column
    return derived(column, STR, lambda item, ctx: req_id(ctx.context.get(name), name))


def absent(column: str, type_: pa.DataType) -> Field:
    """A column this platform's API does not have: always NULL."""
    return derived(column, type_, lambda item, ctx: None)


COMMON_NAMES = frozenset(name for name, _ in COMMON)
# Columns parse_line fills from the raw line itself, not from the item.
LINE_COLUMNS = ("snapshot_date", "run_id", "extracted_at")


@dataclass(frozen=True)
class FieldMap:
    """How one (platform, entity) record is built from one API item: the only place a
    record column is written down; its Arrow schema (ingestion/records.py) comes from here.

    `what` names the item in the quarantine reason when it is not a JSON object; `check`
    rejects an item whose shape is wrong as a whole (it raises BadRecord).
    """

    what: str
    fields: tuple[Field, ...]
    check: Callable[[dict[str, Any]], None] | None = None

    def __post_init__(self) -> None:
        names = [f.column for f in self.fields]
        missing = [c for c, _ in COMMON if c not in names and c not in LINE_COLUMNS]
        if missing or len(set(names)) != len(names):
            raise ValueError(f"{self.what} field map: missing {missing} or a repeated column")

    @functools.cached_property
    def schema(self) -> pa.Schema:
        """The record's Arrow schema: the common columns first, then the map's, in order."""
        own = [pa.field(f.column, f.type) for f in self.fields if f.column not in COMMON_NAMES]
        return pa.schema([pa.field(n, t) for n, t in COMMON] + own)

    def build(self, item: Any, ctx: PageContext) -> dict[str, Any]:
        if not isinstance(item, dict):
            raise BadRecord(f"{self.what} is not an object")
        if self.check is not None:
            self.check(item)
        return {f.column: f.value(item, ctx) for f in self.fields}


@dataclass(frozen=True)
class Section:
    """One kind of record inside a page: where the items are, and how to build one."""

    entity: str
    items: Lister
    fields: FieldMap
    # Dotted paths the docs promise in every item: their absence across most of a run's
    # records means the API changed shape (a renamed metric would otherwise be a silent NULL).
    expected: tuple[str, ...] = ()


@dataclass(frozen=True)
class EndpointSpec:
    """A page of this endpoint holds these sections; an unreadable one counts as `entity`."""

    entity: str
    sections: tuple[Section, ...]


def single(
    entity: str, items: Lister, fields: FieldMap, expected: tuple[str, ...] = ()
) -> EndpointSpec:
    """An endpoint whose pages hold one kind of record."""
    return EndpointSpec(entity, (Section(entity, items, fields, expected),))


KEY_OF: dict[str, str] = {
    "accounts": "account_id",
    "posts": "post_id",
    "post_insights": "post_id",
    "comments": "comment_id",
}


@dataclass
class Collected:
    """Records, quarantine and served counts of one (source, date) run.

    With `schemas`, landed rows are packed into Arrow tables every `pack_rows` rows of an
    entity: a day of an agency platform (1-2 M records) held as Python dicts took ~1 KB per
    record (agency reparse, peak RSS: 2.19 GB as dicts, 1.39 GB packed). `rows` holds the rows
    not packed yet (all of them without
    schemas); `table(entity)` gives every landed row, in landing order.
    """

    source: str
    schemas: dict[str, pa.Schema] = field(default_factory=dict)
    pack_rows: int = 20_000
    rows: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    quarantined: list[Quarantined] = field(default_factory=list)
    served: Counter[str] = field(default_factory=Counter)
    checked: Counter[str] = field(default_factory=Counter)  # items checked per entity
    absent: Counter[tuple[str, str]] = field(default_factory=Counter)  # (entity, path)
    landed: Counter[str] = field(default_factory=Counter)
    # the account (roster key) each landed row belongs to, in landing order (see `owner`)
    owners: dict[str, list[str | None]] = field(default_factory=dict)
    _line_accounts: list[dict[str, Any]] = field(default_factory=list)
    _line_owner: str | None = None
    # account key -> why one of its pages could not be read (such an account is not landed)
    unreadable: dict[str, str] = field(default_factory=dict)
    _seen: dict[str, set[str]] = field(default_factory=dict)
    _packed: dict[str, list[pa.Table]] = field(default_factory=dict)
    _unpackable: set[str] = field(default_factory=set)

    def land(self, entity: str, row: dict[str, Any], endpoint: str, raw: Any) -> None:
        """Land a row unless its key already landed in this run (then quarantine it)."""
        key = row.get(KEY_OF.get(entity, ""))
        seen = self._seen.setdefault(entity, set())
        if key is not None and key in seen:
            self.quarantine(entity, endpoint, f"duplicate {KEY_OF[entity]} {key} in this run", raw)
            return
        if key is not None:
            seen.add(key)
        self.owners.setdefault(entity, []).append(self.owner(row))
        pending = self.rows.setdefault(entity, [])
        pending.append(row)
        self.landed[entity] += 1
        if len(pending) >= self.pack_rows and entity in self.schemas:
            self._pack(entity)

    def begin_line(self, accounts: list[dict[str, Any]]) -> None:
        """The roster accounts of the raw line being parsed (owners of what it lands)."""
        self._line_accounts = accounts
        first = accounts[0] if accounts else None
        self._line_owner = (
            account_key(str(first.get("creator_id")), str(first.get("handle") or ""))
            if first
            else None
        )

    def owner(self, row: dict[str, Any] | None = None) -> str | None:
        """The account key a row (or, without one, a quarantined item) of the current line
        belongs to: the line's only account, else the one with the row's creator_id (and
        account id or handle), else the line's first account; None for a line naming none."""
        accounts = self._line_accounts
        if len(accounts) <= 1 or row is None:
            return self._line_owner
        same = [a for a in accounts if a.get("creator_id") == row.get("creator_id")]
        ident = str(row.get("account_id") or "").casefold()
        exact = [
            a
            for a in same
            if ident
            and ident
            in (str(a.get("account_id") or "").casefold(), str(a.get("handle")).casefold())
        ]
        chosen = (exact or same or accounts)[0]
        return account_key(str(chosen.get("creator_id")), str(chosen.get("handle") or ""))

    def page_unreadable(self, reason: str) -> None:
        """The current line's page held no readable records: every account it was fetched
        for misses data, so none of them counts as cleanly landed in this run."""
        for acc in self._line_accounts:
            key = account_key(str(acc.get("creator_id")), str(acc.get("handle") or ""))
            self.unreadable.setdefault(key, reason)

    def _pack(self, entity: str) -> None:
        if entity in self._unpackable:
            return
        try:
            table = rows_to_table(self.rows[entity], self.schemas[entity])
        except (pa.ArrowException, TypeError, ValueError):
            # keep the dicts: writing them at commit raises the same error where it always did
            self._unpackable.add(entity)
            return
        self._packed.setdefault(entity, []).append(table)
        self.rows[entity] = []

    def table(self, entity: str, schema: pa.Schema) -> pa.Table | None:
        """Every row landed for `entity` as one table in landing order (None when none)."""
        parts = list(self._packed.get(entity, []))
        if self.rows.get(entity):
            parts.append(rows_to_table(self.rows[entity], schema))
        if not parts:
            return None
        return pa.concat_tables(parts) if len(parts) > 1 else parts[0]

    def quarantine(
        self, entity: str, endpoint: str, reason: str, record: Any, **where: Any
    ) -> None:
        self.quarantined.append(
            Quarantined(
                source=self.source,
                entity=entity,
                reason=reason,
                record=record,
                endpoint=endpoint,
                account=self.owner(),
                **where,
            )
        )

    def check_fields(self, entity: str, item: Any, expected: tuple[str, ...]) -> None:
        if not expected or not isinstance(item, dict):
            return
        self.checked[entity] += 1
        for path in expected:
            node: Any = item
            for key in path.split("."):
                node = node.get(key) if isinstance(node, dict) else None
            if node is None:
                self.absent[(entity, path)] += 1

    def drift(self, min_records: int = 10, share: float = 0.5) -> tuple[dict[str, Any], list[str]]:
        """Field-absence report for the manifest, and warnings where most records lack one."""
        report: dict[str, Any] = {}
        warnings = []
        for (entity, path), n in sorted(self.absent.items()):
            total = self.checked[entity]
            report.setdefault(entity, {"records": total, "absent": {}})["absent"][path] = n
            if total >= min_records and n / total >= share:
                warnings.append(
                    f"{entity}: `{path}` absent in {n} of {total} records — did the API "
                    "change shape? those values are NULL"
                )
        return report, warnings

    def counts(self) -> dict[str, dict[str, int]]:
        entities = set(self.served) | set(self.landed) | {q.entity for q in self.quarantined}
        out = {}
        for entity in sorted(entities):
            landed = self.landed[entity]
            quarantined = sum(1 for q in self.quarantined if q.entity == entity)
            out[entity] = {
                "served": self.served[entity],
                "landed": landed,
                "quarantined": quarantined,
            }
        return out


def _common(line: dict[str, Any]) -> dict[str, Any]:
    received = line.get("received_at")
    return {
        "snapshot_date": date.fromisoformat(line["snapshot_date"]),
        "run_id": line.get("run_id"),
        "extracted_at": datetime.fromisoformat(received) if received else None,
    }


def unreadable_reason(exc: ValueError | RecursionError) -> str:
    """Why a page body could not be decoded (the quarantine reason and the account's)."""
    if isinstance(exc, json.JSONDecodeError):
        return f"page is not valid JSON ({exc.msg} at char {exc.pos})"
    if isinstance(exc, RecursionError):
        return "page is not valid JSON (nested too deeply to read)"
    return f"page is not valid JSON ({exc})"


def parse_line(
    line: dict[str, Any], specs: dict[str, EndpointSpec], salt: str, out: Collected
) -> Any:
    """Parse one raw page into `out`; return the decoded body (None if unreadable).

    Only exchanges whose outcome was "ok" hold records; error answers are audit lines.
    """
    if line.get("outcome") != "ok":
        return None
    out.begin_line(line.get("accounts") or [])
    endpoint = line["endpoint"]
    spec = specs[endpoint]
    where = {"record_index": None}
    try:
        body = json.loads(line.get("body") or "")
    except (ValueError, RecursionError) as exc:
        out.served[spec.entity] += 1
        out.quarantine(spec.entity, endpoint, unreadable_reason(exc), _page_ref(line), **where)
        out.page_unreadable(f"{endpoint} page is not valid JSON")
        return None
    ctx = PageContext(line, salt, body)
    common = _common(line)
    try:
        sections = [(s, s.items(body, ctx)) for s in spec.sections]
    except (BadShape, BadRecord) as exc:
        out.served[spec.entity] += 1
        out.quarantine(spec.entity, endpoint, f"page shape: {exc}", _page_ref(line), **where)
        out.page_unreadable(f"{endpoint} page shape: {exc}")
        return None
    for section, items in sections:
        for index, item in enumerate(items):
            out.served[section.entity] += 1
            out.check_fields(section.entity, item, section.expected)
            try:
                row = {**section.fields.build(item, ctx), **common}
            except (BadRecord, BadShape) as exc:
                out.quarantine(section.entity, endpoint, str(exc), item, record_index=index)
                continue
            out.land(section.entity, row, endpoint, item)
    return body


def _page_ref(line: dict[str, Any]) -> dict[str, Any]:
    """What a quarantined page keeps: where it came from and the (scrubbed) body."""
    return {
        "url": line.get("request", {}).get("url"),
        "accounts": [a.get("handle") for a in line.get("accounts") or []],
        "received_at": line.get("received_at"),
        "body": (line.get("body") or "")[:20000],
    }
