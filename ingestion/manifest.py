"""Committing a run's records and building its manifest (shared by extract and reparse).

The manifest is the audit of one (source, date): what was served, landed and quarantined
per entity, which accounts failed and why, checksums of every file, and a status. It is
written last, so it always describes files that exist.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from ingestion.account_runs import View, owns, runs_of
from ingestion.landing import write_quarantine, write_records
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
    view: View | None = None,
    load_run: Callable[[str], Collected] | None = None,
) -> dict[str, Any]:
    """Replace every entity partition of the source for the date, then its quarantine file.

    `collected` is what run `run_id` parsed. With a `view` (account -> run), each account's
    rows and quarantined items come from the run the view names (other runs are parsed
    again by `load_run`); without one, everything of `run_id` lands. Runs are combined in
    run-id order and sorted by account, so extraction and reparse write the same bytes.
    Entities with no rows still have their old parts removed. Counts are of what the
    files hold: served = landed + quarantined.
    """
    runs = {run_id: collected}
    for other in runs_of(view or {}):
        if other not in runs:
            if load_run is None:
                raise ValueError(f"run {other} is named by the view but cannot be loaded")
            runs[other] = load_run(other)
    order = sorted(runs)
    quarantined = [
        q for r in order for q in runs[r].quarantined if owns(view, q.account, r, run_id)
    ]
    entities: dict[str, Any] = {}
    for entity, schema in schemas.items():
        parts = [t for r in order if (t := _owned_rows(runs[r], entity, schema, view, r, run_id))]
        table = pa.concat_tables(parts) if len(parts) > 1 else (parts[0] if parts else None)
        rows = by_account(table) if table is not None else []
        written = write_records(root, entity, run_date, run_id, rows, schema, platform)
        landed = len(rows)
        dropped = sum(1 for q in quarantined if q.entity == entity)
        entry: dict[str, Any] = {
            "served": landed + dropped,
            "landed": landed,
            "quarantined": dropped,
            "files": [],
            "sha256": {},
        }
        if written:
            entry["files"].append(written[0])
            entry["sha256"][written[0]] = written[1]
        entities[entity] = entry
    q = write_quarantine(root, source, run_date, run_id, quarantined)
    return {"entities": entities, "quarantine": {"file": q[0], "sha256": q[1]} if q else None}


def _owned_rows(
    collected: Collected,
    entity: str,
    schema: pa.Schema,
    view: View | None,
    run_id: str,
    commit_run: str,
) -> pa.Table | None:
    """The rows of `entity` that run `run_id` contributes to the date's data."""
    table = collected.table(entity, schema)
    if table is None:
        return None
    if view is None:
        return table if run_id == commit_run else None
    owners = collected.owners.get(entity, [])
    if len(owners) != len(table):
        raise ValueError(f"{entity}: {len(table)} rows but {len(owners)} owners recorded")
    mask = pa.array([owns(view, o, run_id, commit_run) for o in owners], pa.bool_())
    kept = table.filter(mask)
    return kept if len(kept) else None


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
