"""On Spark, the date-keyed incremental models overwrite only the partitions of the days they build.

A Spark build as of one day, then the incremental build of the next (dbt-spark's
insert_overwrite by the date partition, macros/portable.sql incremental_by_date), gives the rows
a DuckDB full refresh gives, row for row (tests/table_parity.py), and leaves the files of
the earlier days' partitions as they were: they were not rewritten. The reduced test builds
the date-keyed models Spark builds on the hand-made landing; the slow one catches up two days
at once on a sandbox world and compares everything Spark builds with a DuckDB full refresh and
a Spark full refresh.
"""

from __future__ import annotations

import shutil
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from dbt_landing_fixture import DAILY_DATES, D, build_landing
from table_parity import differences

from pipeline.transform import run_dbt

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime"),
]

# The date-keyed incremental models Spark builds, each with its partition column.
BY_DATE = {
    "int_account_snapshots_unioned": "landing_date",
    "int_post_metrics_daily": "landing_date",
    "fct_creator_daily": "date",
}
SELECTION = " ".join(f"+{model}" for model in BY_DATE)


def _homes(tmp_path: Path, land, names: tuple[str, ...]) -> list[Path]:
    first, *others = (tmp_path / name for name in names)
    land(first)
    for home in others:
        shutil.copytree(first / "landing", home / "landing")
    return [first, *others]


def _partitions(home: Path, model: str) -> dict[str, set[tuple[str, int]]]:
    """Each partition folder of a Spark table: its files, with their modification times."""
    table = home / "spark" / "warehouse" / "kol.db" / model
    return {
        folder.name: {(f.name, f.stat().st_mtime_ns) for f in folder.iterdir()}
        for folder in sorted(table.glob("*=*"))
    }


def _tables(db: Path) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return sorted(
            r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()
        )


def _columns(db: Path, table: str) -> list[str]:
    with duckdb.connect(str(db), read_only=True) as con:
        return [r[0] for r in con.execute(f'describe "{table}"').fetchall()]


def test_the_next_day_overwrites_only_its_partitions_and_matches_duckdb(tmp_path, monkeypatch):
    monkeypatch.setenv("KOL_SPARK_MASTER", "local[2]")
    duck, spark = _homes(tmp_path, build_landing, ("duckdb", "spark"))
    scope = {"select": SELECTION, "exclude": "resource_type:test", "unit_tests": False}
    on_duckdb = run_dbt(duck, D, full_refresh=True, **scope)
    assert on_duckdb.ok, on_duckdb.failures

    day_before = DAILY_DATES[1]
    first = run_dbt(spark, day_before, full_refresh=True, engine="spark", **scope)
    assert first.ok, first.failures
    before = {model: _partitions(spark, model) for model in BY_DATE}
    for model, column in BY_DATE.items():
        assert f"{column}={day_before}" in before[model], (model, sorted(before[model]))
        assert f"{column}={D}" not in before[model], (model, sorted(before[model]))

    nxt = run_dbt(spark, D, from_date=D, engine="spark", **scope)
    assert nxt.ok, nxt.failures
    for model, column in BY_DATE.items():
        after = _partitions(spark, model)
        # D's partition written; every earlier one kept as it was, files untouched
        assert f"{column}={D}" in after, (model, sorted(after))
        assert {k: v for k, v in after.items() if k != f"{column}={D}"} == before[model], model

    built = _tables(spark / "warehouse.duckdb")
    assert set(BY_DATE) <= set(built), built
    # the hand-over restores the model's column order (Spark stores partition columns last)
    for model in BY_DATE:
        assert _columns(spark / "warehouse.duckdb", model) == _columns(
            duck / "warehouse.duckdb", model
        ), model
    on_spark = differences(
        duck / "warehouse.duckdb", spark / "warehouse.duckdb", built, between_builds=True
    )
    assert on_spark == {}


@pytest.mark.slow
def test_a_two_day_catch_up_equals_both_full_refreshes_on_a_sandbox_world(tmp_path, monkeypatch):
    from test_dbt_sandbox_world import DAYS, END, land_world

    monkeypatch.setenv("KOL_SPARK_MASTER", "local[2]")
    duck, spark, spark_full = _homes(tmp_path, land_world, ("duckdb", "spark", "spark_full"))
    assert DAYS >= 3
    on_duckdb = run_dbt(duck, END, full_refresh=True, unit_tests=False)
    assert on_duckdb.ok, on_duckdb.failures
    full = run_dbt(spark_full, END, full_refresh=True, unit_tests=False, engine="spark")
    assert full.ok, full.failures

    start: date = END - timedelta(days=2)
    first = run_dbt(spark, start, full_refresh=True, unit_tests=False, engine="spark")
    assert first.ok, first.failures
    before = {model: _partitions(spark, model) for model in BY_DATE}
    # the two later days at once, with their data tests (on the rows this build wrote)
    caught_up = run_dbt(
        spark, END, from_date=start + timedelta(days=1), unit_tests=False, engine="spark"
    )
    assert caught_up.ok, caught_up.failures
    for model, column in BY_DATE.items():
        after = _partitions(spark, model)
        new = {f"{column}={start + timedelta(days=k)}" for k in (1, 2)}
        assert new <= set(after), (model, sorted(after))
        assert {k: v for k, v in after.items() if k not in new} == before[model], model

    built = _tables(spark / "warehouse.duckdb")
    assert set(BY_DATE) <= set(built), built
    assert _tables(spark_full / "warehouse.duckdb") == built
    # the catch-up against each full refresh, as tests/dbt/test_incremental.py compares them
    for full_home in (duck, spark_full):
        assert (
            differences(
                full_home / "warehouse.duckdb",
                spark / "warehouse.duckdb",
                built,
                between_builds=True,
            )
            == {}
        ), full_home.name
