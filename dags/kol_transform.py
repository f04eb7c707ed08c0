"""
### kol_transform — build, gate and publish the marts as of D

Scheduled on the six landing assets (`kol://landing/<source>`, all of them): kol_extract
announces each source once its extract is done, whether it landed, was skipped (no
credential) or failed after its retries, so this DAG runs once per date with what landed
and says so (the ledger row is `partial`, naming each missing source). There is no
wall-clock timeout: the extract retries are the timeout.

**D** comes from the triggering events' `extra["date"]` (asset-triggered runs have no
logical date). Events for several dates in one run (a fast backfill) build the marts as of
the latest date, which include every landed day; the plan names the others. A manual
trigger with conf `{"date": "YYYY-MM-DD"}` rebuilds that date from its manifests.

| task | calls | pool |
|---|---|---|
| `plan` | D and what each source said | default |
| `build` | `pipeline.policy.build_gate_publish`: transform (one `dbt build`) → gate (GX; a failed gate is final, no retry) → publish (atomic swap); emits `kol://serving/marts` | `kol_warehouse` (1 slot) |
| `compact` | `pipeline.steps.compact` after a successful build: whole months of landing older than `KOL_COMPACT_AFTER_DAYS` / `KOL_RAW_PACK_AFTER_DAYS` merged into month files and packs, under the writer lock | `kol_warehouse` (1 slot) |
| `record_run` | `pipeline.run_ledger.write_ledger` — one ledger row, whatever happened | default |

**One writer.** `build` is the only writer: it holds the KOL_HOME lock (`pipeline.runlock`,
shared with the `kol` CLI) across transform, gate and publish, so no other run can rebuild
the warehouse between a build and its gate; its log shows each step. It runs in the
one-slot `kol_warehouse` pool, so runs for several dates queue there (in creation order
in practice: asset-triggered runs have no logical date for the scheduler to sort by).
`max_active_runs` is not 1 on purpose: Airflow 3.3 creates an asset-triggered run late when
the DAG is at its limit and then drops the events that arrived in between.

**Why one dbt task, not a task per model.** A task per model would be its own `dbt` process
against DuckDB, which allows one writer per file: per-model tasks would queue on the lock
and spend most of their time starting dbt. `pipeline.steps.transform` is the same
single `dbt build` the CLI runs (it also decides full refreshes when rejected days change);
its log lists every model and test, and dbt docs are published beside the quality reports.

`record_run` is a teardown: it always writes the ledger row (status `published`, `partial`,
`gate_failed` or `failed`) without hiding a failed gate from the DAG run's state.
"""

from __future__ import annotations

from datetime import UTC, date, datetime
from typing import Any

import kol_tasks as kol
from airflow.sdk import dag, get_current_context, task, teardown
from airflow.sdk.exceptions import AirflowFailException

from pipeline.policy import build_gate_publish
from pipeline.run_ledger import write_ledger
from pipeline.state import GateFailed

START = datetime(2026, 1, 1, tzinfo=UTC)
WRITER = {"pool": kol.WAREHOUSE_POOL, "queue": kol.WAREHOUSE_QUEUE}
# Not 1: Airflow 3.3 creates an asset-triggered run late when the DAG is at max_active_runs,
# and then drops the events that arrived meanwhile (a fast backfill would lose a date). Runs
# are created at once instead and queue on the one-slot pool.
ACTIVE_RUNS = 16


@task
def plan() -> dict[str, Any]:
    ctx = get_current_context()
    settings = kol.settings_from_airflow(())
    p = kol.transform_plan(ctx, settings)
    kol.log.info("plan %s", p.describe())
    for note in p.notes:
        kol.log.warning("plan: %s", note)
    return {
        **p.as_dict(),
        "run_id": kol.kol_run_id_from_context(ctx, p.run_date),
        "started_at": datetime.now(UTC).isoformat(timespec="seconds"),
    }


@task(**WRITER, outlets=[kol.MARTS])
def build(plan: dict[str, Any]) -> dict[str, Any]:
    """transform -> gate -> publish as of D, holding the KOL_HOME lock for all three."""
    settings = kol.settings_from_airflow(())
    d = date.fromisoformat(plan["date"])
    with kol.writer_lock(settings, f"airflow kol_transform {d} ({plan['run_id']})"):
        try:
            out = build_gate_publish(settings, d, plan["run_id"], progress=kol.log.info)
        except GateFailed as exc:
            raise AirflowFailException(str(exc)) from None  # a verdict: retrying cannot help
    published = out["publish"]
    get_current_context()["outlet_events"][kol.MARTS].extra = {
        "date": d.isoformat(),
        "checksum": published["checksum"],
        "rows": published["rows"],
    }
    return out


@task(**WRITER)
def compact(plan: dict[str, Any]) -> dict[str, Any]:
    """Landing compaction as of D, after publish (the marts it leaves are the same)."""
    settings = kol.settings_from_airflow(())
    return kol.compact_landing(settings, date.fromisoformat(plan["date"]), plan["run_id"])


@teardown
@task
def record_run() -> str:
    ti = get_current_context()["ti"]
    raw = ti.xcom_pull(task_ids="plan")
    if not raw:
        kol.log.error("no plan (no run date): nothing to record; see the plan task's log")
        return "no plan"
    settings = kol.settings_from_airflow(())
    summary = kol.run_summary(
        settings,
        kol.TransformPlan.from_dict(raw),
        raw["run_id"],
        raw["started_at"],
        ti.xcom_pull(task_ids="build"),
    )
    write_ledger(settings, summary)
    line = f"run {summary.run_id} {summary.run_date}: {summary.status} — {summary.message}"
    kol.log.info(line)
    return line


@dag(
    schedule=kol.ALL_LANDED,
    start_date=START,
    catchup=False,
    max_active_runs=ACTIVE_RUNS,
    default_args=kol.default_args(retries=1),
    params={
        "date": kol.date_param(
            "Rebuild as of D (YYYY-MM-DD); empty = the triggering landings' date"
        )
    },
    tags=["kol", "transform"],
    doc_md=__doc__,
)
def kol_transform() -> None:
    planned = plan()
    built = build(planned)
    built >> record_run()
    built >> compact(planned)


kol_transform()
