"""The same dbt project on DuckDB and on local Apache Spark gives the same rows.

Both builds read one landing (copied to two homes); Spark's models reach a DuckDB file through
the engine's hand-over (pipeline/spark_handover.py), the path the gate and publish read, and
are compared row for row with DuckDB's (tests/dbt/engine_parity.py: doubles at 12
significant digits, lists order-independent). The reduced test builds a few models of each
layer on the hand-made landing, chosen for the constructs the engines write differently
(QUALIFY, list lambdas, a regex, leading trims, a date series with a fallback join, a sorted
string aggregate, a model contract); the slow one builds everything Spark builds on a
sandbox world.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from dbt_landing_fixture import D, build_landing
from engine_parity import differences

from pipeline.transform import run_dbt

pytestmark = [
    pytest.mark.integration,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime"),
]

REDUCED = [
    "stg_exports__campaigns",
    "stg_exports__fx_rates",
    "stg_exports__roster",
    "stg_x__posts",
    "int_fx_rates_filled",
    "dim_creators",
]


def _homes(tmp_path: Path, land) -> tuple[Path, Path]:
    duck, spark = tmp_path / "duckdb", tmp_path / "spark"
    land(duck)
    shutil.copytree(duck / "landing", spark / "landing")
    return duck, spark


def _tables(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        names = [r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()]
        return {n: con.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names}


def test_a_few_models_per_layer_match_row_for_row(tmp_path, monkeypatch):
    monkeypatch.setenv("KOL_SPARK_MASTER", "local[2]")
    duck, spark = _homes(tmp_path, build_landing)
    # the models alone: their data tests would need models outside the selection
    scope = {"select": " ".join(REDUCED), "exclude": "resource_type:test", "unit_tests": False}
    on_duckdb = run_dbt(duck, D, full_refresh=True, **scope)
    assert on_duckdb.ok, on_duckdb.failures
    on_spark = run_dbt(spark, D, full_refresh=True, engine="spark", **scope)
    assert on_spark.ok, on_spark.failures

    built = _tables(spark / "warehouse.duckdb")
    assert set(built) == set(REDUCED)
    # every compared model holds rows (an empty pair would match trivially)
    assert all(built.values()), built
    # the fixture's two campaigns carry '#GlowUp'-style hashtags, stripped the same way
    with duckdb.connect(str(spark / "warehouse.duckdb"), read_only=True) as con:
        tags = con.execute("select list(hashtag order by hashtag) from stg_exports__campaigns")
        assert tags.fetchone()[0] == ["dinner", "glowup"]
    assert differences(duck / "warehouse.duckdb", spark / "warehouse.duckdb", REDUCED) == {}


@pytest.mark.slow
def test_every_model_spark_builds_matches_on_a_sandbox_world(tmp_path, monkeypatch):
    from test_dbt_sandbox_world import END, land_world

    monkeypatch.setenv("KOL_SPARK_MASTER", "local[2]")
    duck, spark = _homes(tmp_path, land_world)
    on_duckdb = run_dbt(duck, END, full_refresh=True, unit_tests=False)
    assert on_duckdb.ok, on_duckdb.failures
    on_spark = run_dbt(spark, END, full_refresh=True, unit_tests=False, engine="spark")
    assert on_spark.ok, on_spark.failures

    built = _tables(spark / "warehouse.duckdb")
    assert {"dim_creators", "dim_creator_accounts", "int_fx_rates_filled"} <= set(built)
    assert differences(duck / "warehouse.duckdb", spark / "warehouse.duckdb", sorted(built)) == {}
