"""The run ledger: one Parquet file per run in `quality/ledger/`, the audit trail of `kol status`.

One file per run (`<run_id>.parquet`, written under a temporary name then renamed) means two
writers never touch the same file, so no lock is needed and a crash never leaves a half row.
Structured fields (stage statuses, counts, failures) are stored as JSON text so the schema
stays flat and readable from any Parquet tool.
"""

from __future__ import annotations

import json
import os
import uuid
from collections.abc import Sequence
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from ingestion.redaction import scrub_value

LEDGER_DIR = "ledger"
STATUSES = ("published", "gate_failed", "failed", "partial", "landed", "running", "skipped")
_JSON_FIELDS = ("stages", "source_counts", "mart_rows", "failed_expectations", "quota_used")

SCHEMA = pa.schema(
    [
        ("run_id", pa.string()),
        ("run_date", pa.date32()),
        ("started_at", pa.timestamp("us", tz="UTC")),
        ("finished_at", pa.timestamp("us", tz="UTC")),
        ("status", pa.string()),
        ("stages", pa.string()),
        ("source_counts", pa.string()),
        ("mart_rows", pa.string()),
        ("gate_passed", pa.bool_()),
        ("failed_expectations", pa.string()),
        ("published_checksum", pa.string()),
        ("message", pa.string()),
        ("quota_used", pa.string()),
    ]
)


@dataclass
class LedgerRow:
    """One run as the auditor sees it.

    stages: stage -> status ("ok", "partial", "failed", "skipped", ...).
    source_counts: source -> {"served": n, "landed": n, "quarantined": n}.
    mart_rows: mart table -> row count. failed_expectations: one dict per failing expectation
    (suite, expectation_type, table, column, observed_value, message).
    quota_used: platform -> {measure: {"used": n, "budget": n}, "deferred": n, and
    "usage_percent_max" where the platform reports usage in headers}.
    """

    run_id: str
    run_date: date
    started_at: datetime
    finished_at: datetime | None = None
    status: str = "running"
    stages: dict[str, str] = field(default_factory=dict)
    source_counts: dict[str, dict[str, int]] = field(default_factory=dict)
    mart_rows: dict[str, int] = field(default_factory=dict)
    gate_passed: bool | None = None
    failed_expectations: list[dict[str, Any]] = field(default_factory=list)
    published_checksum: str | None = None
    message: str = ""
    quota_used: dict[str, dict[str, Any]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        """Accept ISO strings for dates/times and plain-text failures (callers' convenience)."""
        if isinstance(self.run_date, str):
            self.run_date = date.fromisoformat(self.run_date)
        for name in ("started_at", "finished_at"):
            value = getattr(self, name)
            if isinstance(value, str):
                value = datetime.fromisoformat(value) if value else None
            if isinstance(value, datetime) and value.tzinfo is None:
                value = value.replace(tzinfo=UTC)
            setattr(self, name, value)
        self.failed_expectations = [
            f if isinstance(f, dict) else {"message": str(f)} for f in self.failed_expectations
        ]


class LedgerError(ValueError):
    """A ledger row cannot be written or read; the message says which and why."""


def append(quality_dir: Path, row: LedgerRow) -> Path:
    """Write the run's ledger file atomically (re-appending a run_id replaces its row)."""
    if not row.run_id or "/" in row.run_id or row.run_id.startswith("."):
        raise LedgerError(f"invalid run_id {row.run_id!r}: must be a non-empty file-name part")
    if row.status not in STATUSES:
        raise LedgerError(f"invalid status {row.status!r} for run {row.run_id}: use {STATUSES}")
    folder = Path(quality_dir) / LEDGER_DIR
    folder.mkdir(parents=True, exist_ok=True)
    final = folder / f"{row.run_id}.parquet"
    tmp = folder / f".tmp-{uuid.uuid4().hex[:8]}-{row.run_id}.parquet"
    table = pa.Table.from_pylist([scrub_value(_to_record(row))], schema=SCHEMA)
    try:
        pq.write_table(table, tmp)
        with open(tmp, "rb") as fh:
            os.fsync(fh.fileno())
        os.replace(tmp, final)
    finally:
        tmp.unlink(missing_ok=True)
    return final


def read(quality_dir: Path) -> list[LedgerRow]:
    """All runs, oldest first (by started_at, then run_id for ties)."""
    folder = Path(quality_dir) / LEDGER_DIR
    if not folder.is_dir():
        return []
    rows = [_read_file(p) for p in folder.glob("*.parquet") if not p.name.startswith(".")]
    return sorted(rows, key=lambda r: (r.started_at, r.run_id))


def get(quality_dir: Path, run_id: str) -> LedgerRow | None:
    """The run's row, or None when no run of that id was recorded."""
    path = Path(quality_dir) / LEDGER_DIR / f"{run_id}.parquet"
    return _read_file(path) if path.is_file() else None


def format_runs(rows: Sequence[LedgerRow]) -> str:
    """A table of runs for `kol status` (newest last, like a log)."""
    if not rows:
        return "No runs recorded yet: `kol run` or `kol demo` writes the first one."
    header = ("run_id", "run_date", "started (UTC)", "took", "status", "gate", "failed", "checksum")
    body = [
        (
            r.run_id,
            r.run_date.isoformat(),
            r.started_at.strftime("%Y-%m-%d %H:%M:%S"),
            _duration(r),
            r.status,
            {True: "passed", False: "FAILED", None: "-"}[r.gate_passed],
            str(len(r.failed_expectations)),
            (r.published_checksum or "-")[:12],
        )
        for r in rows
    ]
    return _table(header, body)


def format_run(row: LedgerRow) -> str:
    """Everything recorded about one run, for `kol status --run ID`."""
    lines = [
        f"run {row.run_id}  (date {row.run_date.isoformat()})",
        f"  status:    {row.status}",
        f"  started:   {row.started_at.isoformat()}",
        f"  finished:  {row.finished_at.isoformat() if row.finished_at else '-'}  "
        f"({_duration(row)})",
        f"  gate:      {({True: 'passed', False: 'FAILED', None: 'not run'})[row.gate_passed]}",
        f"  published: {row.published_checksum or '- (previous marts stay published)'}",
    ]
    if row.message:
        lines.append(f"  message:   {row.message}")
    if row.stages:
        lines += ["", "stages:", _table(("stage", "status"), sorted(row.stages.items()))]
    if row.source_counts:
        header = ("source", "status", "served", "landed", "quarantined")
        body = [(src, *_source_line(c)) for src, c in sorted(row.source_counts.items())]
        lines += ["", "sources:", _table(header, body)]
    if row.quota_used:
        lines += ["", "quota used:", format_quota(row.quota_used)]
    if row.mart_rows:
        body = [(t, str(n)) for t, n in sorted(row.mart_rows.items())]
        lines += ["", "marts:", _table(("table", "rows"), body)]
    if row.failed_expectations:
        body = [
            (
                str(f.get("suite", "")),
                str(f.get("expectation_type", "")),
                f"{f.get('table', '')}.{f.get('column') or '*'}",
                _short(f.get("observed_value")),
            )
            for f in row.failed_expectations
        ]
        lines += [
            "",
            "failed expectations:",
            _table(("suite", "expectation", "table.column", "observed"), body),
        ]
        lines += [f"  - {f.get('message', '')}" for f in row.failed_expectations]
    return "\n".join(lines)


def format_quota(quota_used: dict[str, dict[str, Any]]) -> str:
    """Per platform and measure: used of the day's budget, the share, deferred accounts and
    the highest usage percent the platform reported (Graph headers)."""
    body = []
    for platform, report in sorted(quota_used.items()):
        for measure, v in sorted(report.items()):
            if not isinstance(v, dict):
                continue
            used, budget = int(v.get("used") or 0), v.get("budget")
            share = f"{used / budget:.0%}" if budget else "-"
            body.append(
                (
                    platform,
                    measure,
                    f"{used:,}",
                    f"{budget:,}" if budget else "-",
                    share,
                    str(report.get("deferred", 0)),
                    _short(report.get("usage_percent_max", "-")),
                )
            )
    header = ("platform", "measure", "used", "day budget", "share", "deferred", "usage header %")
    return _table(header, body)


def _to_record(row: LedgerRow) -> dict[str, Any]:
    record = {f.name: getattr(row, f.name) for f in fields(row)}
    for name in _JSON_FIELDS:
        record[name] = json.dumps(record[name], sort_keys=True, default=str)
    return record


def _read_file(path: Path) -> LedgerRow:
    try:
        record = pq.read_table(path).to_pylist()[0]
    except (OSError, IndexError, pa.ArrowInvalid) as exc:
        raise LedgerError(f"ledger file {path} is unreadable ({exc}): move it aside") from exc
    for name in _JSON_FIELDS:
        record[name] = json.loads(record[name]) if record.get(name) else None
    record["failed_expectations"] = record["failed_expectations"] or []
    for name in ("stages", "source_counts", "mart_rows", "quota_used"):
        record[name] = record[name] or {}
    known = {f.name for f in fields(LedgerRow)}
    return LedgerRow(**{k: v for k, v in record.items() if k in known})


def _source_line(counts: dict[str, Any]) -> tuple[str, ...]:
    """Counts of one source: flat {served, landed, quarantined} or per entity (manifest style)."""
    entities = counts.get("entities")
    parts = list(entities.values()) if isinstance(entities, dict) else [counts]
    totals = [
        str(sum(int(p.get(k) or 0) for p in parts)) if any(k in p for p in parts) else "-"
        for k in ("served", "landed", "quarantined")
    ]
    return (str(counts.get("status") or "-"), *totals)


def _duration(row: LedgerRow) -> str:
    if row.finished_at is None:
        return "-"
    seconds = (row.finished_at - row.started_at).total_seconds()
    return f"{seconds:.0f}s" if seconds < 120 else f"{seconds / 60:.1f}m"


def _short(value: Any, width: int = 40) -> str:
    text = json.dumps(value, default=str) if not isinstance(value, str) else value
    return text if len(text) <= width else text[: width - 1] + "…"


def _table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    widths = [max(len(str(x)) for x in col) for col in zip(header, *body, strict=False)]
    fmt = "  ".join(f"{{:<{w}}}" for w in widths)
    lines = [fmt.format(*header), fmt.format(*("-" * w for w in widths))]
    lines += [fmt.format(*map(str, r)) for r in body]
    return "\n".join(line.rstrip() for line in lines)
