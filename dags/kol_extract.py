"""
### kol_extract — land every source for one date D

Daily at 00:00 UTC. **D = logical date − 1 day** (Airflow 3 cron runs have no data
interval: the run triggered at D+1 00:00 processes D). A manual trigger with conf
`{"date": "YYYY-MM-DD"}` lands that date instead.

One DAG, one task pair per source (not one DAG per platform): a date's six landings start
together, `airflow backfill create --dag-id kol_extract` covers every source in one
command, and each platform still has its own task, pool, retries and log.

| task | calls | pool |
|---|---|---|
| `extract_<platform>` | `pipeline.policy.land_source(settings, platform, D, run_id)` | `kol_<platform>` (1 slot: the platform's rate limit is shared by every run and backfill) |
| `extract_exports` | `pipeline.policy.land_source(settings, "exports", D, run_id)` | default |
| `landed_<source>` | emits `kol://landing/<source>` with extra `{"date": D, "status", "reason", "counts"}` | default |

`landed_<source>` is a teardown: it runs whatever the extract did, so a platform with no
credential (status `skipped`) or one that failed after its retries (status `failed`) still
tells `kol_transform` that D is done for it — and, being a teardown, it does not hide the
failure: the DAG run still fails. A platform returning nothing at all (every account failed)
is raised (`pipeline.policy.should_retry`), so Airflow retries it with exponential backoff
(2, 4, 8 min).

Credentials: Connections `kol_<platform>` (password = token; host/schema or extra
`base_url`; `kol_instagram` extra `user_id`), falling back to `KOL_<P>_TOKEN`,
`KOL_<P>_BASE_URL`, `KOL_INSTAGRAM_USER_ID`.

What each source does for D is the run policy's (`pipeline.policy.land_source`, the same
as `kol run`): the latest complete day is extracted; an older D is rebuilt from the raw
pages landed for it (a real platform serves today's counts, not D's), and a source with
nothing landed for D is `skipped` with the reason. `catchup=False` because real platforms
cannot answer for missed days (when unpaused, the DAG runs the latest midnight at once:
D = yesterday). To re-derive past dates use
`airflow backfill create --dag-id kol_extract --from-date D1 --to-date D2 --max-active-runs 1`
(logical dates: D1..D2 process D1-1..D2-1).
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

import kol_tasks as kol
from airflow.sdk import CronTriggerTimetable, dag, get_current_context, task, teardown

from ingestion.records import PLATFORMS
from pipeline.policy import should_retry
from pipeline.state import StepFailed

START = datetime(2026, 1, 1, tzinfo=UTC)
DATE_PARAM = kol.date_param("Run date D (YYYY-MM-DD); empty = logical date - 1 day")


def _run_date(ctx: Any) -> Any:
    return kol.extract_run_date(ctx["dag_run"].conf, ctx.get("logical_date"))


def extract(source: str):
    pool = kol.platform_pool(source) if source in PLATFORMS else "default_pool"

    @task(task_id=f"extract_{source}", pool=pool)
    def _extract() -> dict[str, Any]:
        ctx = get_current_context()
        d = _run_date(ctx)
        settings = kol.settings_from_airflow([source] if source in PLATFORMS else [])
        run_id = kol.kol_run_id_from_context(ctx, d)
        manifest = kol.land_source(settings, source, d, run_id)
        landed = kol.landed_from_manifest(source, d, manifest)
        kol.log.info("%s %s: %s %s", source, d, landed.status, landed.reason)
        if should_retry(manifest):
            raise StepFailed(f"{source} landed nothing for {d}: {landed.reason} (will retry)")
        return landed.as_extra()

    return _extract()


def announce(source: str):
    asset = kol.landing_asset(source)

    @teardown
    @task(task_id=f"landed_{source}", outlets=[asset])
    def _announce() -> dict[str, Any]:
        ctx = get_current_context()
        extra = ctx["ti"].xcom_pull(task_ids=f"extract_{source}")
        if not extra:
            d = _run_date(ctx)
            extra = kol.Landed(
                source, d, "failed", reason=f"extract_{source} failed: see its task log"
            ).as_extra()
        ctx["outlet_events"][asset].extra = extra
        kol.log.info("announce %s: %s", asset.uri, extra)
        return extra

    return _announce()


@dag(
    schedule=CronTriggerTimetable("0 0 * * *", timezone="UTC"),
    start_date=START,
    catchup=False,
    max_active_runs=1,
    default_args=kol.default_args(retries=3),
    params={"date": DATE_PARAM},
    tags=["kol", "extract"],
    doc_md=__doc__,
)
def kol_extract() -> None:
    for source in kol.SOURCES:
        extract(source) >> announce(source)


kol_extract()
