"""Committing a run's records and building its manifest (shared by extract and reparse).

The manifest is the audit of one (source, date): what was served, landed and quarantined
per entity, which accounts failed and why, checksums of every file, and a status. It is
written last, so it always describes files that exist.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.landing import Quarantined, write_quarantine, write_records
from ingestion.parsing import Collected
from ingestion.platforms import get_platform
from ingestion.records import API_ENTITIES, SCHEMA_VERSION


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def commit_entities(
    root: Path,
    source: str,
    run_date: date,
    run_id: str,
    collected: Collected,
    schemas: dict[str, pa.Schema],
    platform: str | None,
    extra_quarantine: list[Quarantined] | None = None,
) -> dict[str, Any]:
    """Replace every entity partition of the source for the date, then its quarantine file.

    Entities with no rows this run still have their old parts removed (a re-run replaces).
    """
    counts = collected.counts()
    entities: dict[str, Any] = {}
    for entity, schema in schemas.items():
        table = collected.table(entity, schema)
        rows = by_account(table) if table is not None else []
        written = write_records(root, entity, run_date, run_id, rows, schema, platform)
        entry = counts.get(entity, {"served": 0, "landed": 0, "quarantined": 0})
        entry = {**entry, "files": [], "sha256": {}}
        if written:
            entry["files"].append(written[0])
            entry["sha256"][written[0]] = written[1]
        entities[entity] = entry
    quarantined = collected.quarantined + list(extra_quarantine or [])
    q = write_quarantine(root, source, run_date, run_id, quarantined)
    return {"entities": entities, "quarantine": {"file": q[0], "sha256": q[1]} if q else None}


def by_account(table: pa.Table) -> pa.Table:
    """Rows grouped by account (a stable sort: an account's rows keep their fetch order), so
    the file does not depend on how parallel workers interleaved, and reparse writes the same.
    A NULL id sorts as "" (first)."""
    keys = {
        c: pc.fill_null(table[c], "") if c in table.column_names else pa.array([""] * len(table))
        for c in ("creator_id", "account_id")
    }
    order = pc.sort_indices(
        pa.table(keys), sort_keys=[("creator_id", "ascending"), ("account_id", "ascending")]
    )
    return table.take(order).combine_chunks()


def platform_schemas(platform: str) -> dict[str, pa.Schema]:
    fields = get_platform(platform).fields
    return {e: fields[e].schema for e in API_ENTITIES if e in fields}


def status_of(total: int, ok: int, problems: list[str], quota_hit: bool = False) -> str:
    """failed: no account landed; but a platform stopped by its quota is partial (what
    landed is good, the rest resumes next run)."""
    if total and ok == 0 and not quota_hit:
        return "failed"
    return "partial" if problems else "ok"


def base_manifest(source: str, run_id: str, run_date: date, started_at: str) -> dict[str, Any]:
    return {
        "source": source,
        "run_id": run_id,
        "run_date": run_date.isoformat(),
        "schema_version": SCHEMA_VERSION,
        "status": "ok",
        "reason": "",
        "started_at": started_at,
        "finished_at": None,
    }


def skipped_manifest(source: str, run_id: str, run_date: date, reason: str) -> dict[str, Any]:
    """For a platform that was not extracted (no credential, no roster accounts)."""
    manifest = base_manifest(source, run_id, run_date, now_iso())
    manifest.update(
        status="skipped",
        reason=reason,
        finished_at=now_iso(),
        entities={},
        accounts={"total": 0, "ok": 0, "failed": [], "skipped": [], "landed": []},
        requests=0,
        retries=0,
    )
    return manifest
