"""The DAG files import cleanly and declare what operators rely on (schedules, pools, assets)."""

from __future__ import annotations

import json
from datetime import timedelta

import kol_tasks as kol
from airflow.sdk import AssetAll, CronTriggerTimetable

from ingestion.records import PLATFORMS

SOURCES = [*PLATFORMS, "exports"]


def test_dags_import_without_errors(dagbag):
    assert dagbag.import_errors == {}
    assert set(dagbag.dag_ids) == {"kol_extract", "kol_transform"}


def test_every_dag_is_tagged_documented_and_runs_one_at_a_time(dagbag):
    for dag in dagbag.dags.values():
        assert "kol" in dag.tags
        assert dag.catchup is False
        assert dag.doc_md and dag.dag_id in dag.doc_md
        assert "date" in dag.params


def test_extract_runs_one_date_at_a_time_and_transform_never_defers_its_runs(dagbag):
    assert dagbag.dags["kol_extract"].max_active_runs == 1
    # At its limit Airflow would create an asset-triggered run late and drop events.
    assert dagbag.dags["kol_transform"].max_active_runs >= 8


def test_extract_runs_daily_at_midnight_utc(dagbag):
    tt = dagbag.dags["kol_extract"].timetable
    assert isinstance(tt, CronTriggerTimetable)
    assert (tt.expression, str(tt.timezone), tt.run_immediately) == ("0 0 * * *", "UTC", False)


def test_each_platform_extracts_in_its_own_pool_with_backoff_retries(dagbag):
    dag = dagbag.dags["kol_extract"]
    for p in PLATFORMS:
        t = dag.get_task(f"extract_{p}")
        assert t.pool == f"kol_{p}"
        assert t.retries == 3
        assert t.retry_exponential_backoff == 2.0
        assert t.retry_delay == timedelta(minutes=2)
        assert t.on_failure_callback
    assert dag.get_task("extract_exports").pool == "default_pool"


def test_each_source_is_announced_by_a_teardown_emitting_its_landing_asset(dagbag):
    dag = dagbag.dags["kol_extract"]
    for s in SOURCES:
        t = dag.get_task(f"landed_{s}")
        assert t.is_teardown
        assert not t.on_failure_fail_dagrun  # never hides a failed extract from the run state
        assert [o.uri for o in t.outlets] == [f"kol://landing/{s}"]
        assert t.upstream_task_ids == {f"extract_{s}"}


def test_transform_waits_for_every_sources_landing(dagbag):
    tt = dagbag.dags["kol_transform"].timetable
    cond = tt.asset_condition
    assert isinstance(cond, AssetAll)
    assert sorted(a.uri for a in cond.objects) == sorted(f"kol://landing/{s}" for s in SOURCES)


def test_one_writer_task_in_the_one_slot_warehouse_pool_publishes_the_marts(dagbag):
    dag = dagbag.dags["kol_transform"]
    writers = [t for t in dag.tasks if t.pool == "kol_warehouse"]
    assert sorted(t.task_id for t in writers) == ["build", "compact"]
    build = dag.get_task("build")
    assert build.upstream_task_ids == {"plan"}
    assert [o.uri for o in build.outlets] == ["kol://serving/marts"]
    rec = dag.get_task("record_run")
    assert rec.is_teardown and rec.upstream_task_ids == {"build"}
    # landing compaction runs after publish, in the same one-slot pool (a writer)
    assert dag.get_task("compact").upstream_task_ids == {"build", "plan"}
    assert not dag.get_task("compact").outlets


def test_pools_file_declares_every_pool_the_dags_use(dagbag, repo):
    pools = json.loads((repo / "docker" / "pools.json").read_text())
    assert pools == kol.pools_json()
    used = {t.pool for d in dagbag.dags.values() for t in d.tasks} - {"default_pool"}
    assert used == set(pools)
    assert all(pools[name]["slots"] == 1 for name in used)
