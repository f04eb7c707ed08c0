"""The dbt Python models as pipeline steps (pipeline/python_steps.py) give the rows dbt gives.

Engine-neutral: the seven Python models run from their parents' Parquet (here, a DuckDB build's
tables written as Parquet) equal dbt-duckdb's own run of them, row for row
(tests/table_parity.py). On Spark (slow): a build of the Python models and everything
above them runs them between its waves, registers them as Spark tables and hands them over;
they equal a DuckDB build of the same landing.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import duckdb
import pytest
from dbt_landing_fixture import D, build_landing
from table_parity import differences

from pipeline import transform
from pipeline.python_steps import load_nodes, output_dir, plan_waves, run_step
from pipeline.spark_handover import load_into_duckdb

pytestmark = pytest.mark.integration

PYTHON_MODELS = {
    "int_comment_sentiment",
    "int_post_words_counted",
    "int_brand_creator_topic_similarity",
    "int_campaign_creator_topic_similarity",
    "int_matching_model_trained",
    "int_brand_creator_predictions",
    "int_matching_backtest_evaluated",
}
# the Python models whose ancestors are all SQL Spark builds today
FIRST_WAVE = ["int_comment_sentiment", "int_post_words_counted"]
FIRST_WAVE += ["int_campaign_creator_topic_similarity"]
# with one that reads another's step (the topic similarity reads the posts' words)
ON_SPARK = [*FIRST_WAVE, "int_brand_creator_topic_similarity"]


def _counts(db: Path, tables) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        return {t: con.execute(f'select count(*) from "{t}"').fetchone()[0] for t in tables}


def test_the_python_steps_give_the_rows_dbt_duckdb_gives(built_home, tmp_path):
    home, result = built_home
    assert result.ok, result.failures
    nodes = load_nodes(home / "dbt" / "target" / "manifest.json", transform.PROJECT_DIR)
    assert {n.name for n in nodes.values() if n.is_python} == PYTHON_MODELS
    # every SQL parent (models and seeds) as Parquet, as the Spark build exports it
    exported = tmp_path / "export"
    parents = {p for m in PYTHON_MODELS for p in nodes[m].parents if not nodes[p].is_python}
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        for parent in parents:
            (exported / parent).mkdir(parents=True)
            con.execute(f"copy {parent} to '{exported / parent / 'part-0.parquet'}'")
    steps = output_dir(tmp_path)
    waves = plan_waves(nodes, PYTHON_MODELS)
    assert [set(w.python) for w in waves] == [
        {
            "int_comment_sentiment",
            "int_post_words_counted",
            "int_campaign_creator_topic_similarity",
        },
        {
            "int_brand_creator_topic_similarity",
            "int_matching_model_trained",
            "int_matching_backtest_evaluated",
        },
        {"int_brand_creator_predictions"},
    ]
    for wave in waves:
        for name in wave.python:
            inputs = {
                p: (steps if nodes[p].is_python else exported) / p for p in nodes[name].parents
            }
            run_step(nodes[name], inputs, steps / name, env={"KOL_RUN_DATE": D.isoformat()})

    steps_db = tmp_path / "steps.duckdb"
    loaded = load_into_duckdb(tmp_path, steps_db, also=[steps / m for m in sorted(PYTHON_MODELS)])
    assert set(loaded) == PYTHON_MODELS
    counts = _counts(steps_db, PYTHON_MODELS)
    # the fixture's 5 comments, one matching model row, the brands x accounts in the window
    assert counts == _counts(home / "warehouse.duckdb", PYTHON_MODELS)
    assert counts["int_comment_sentiment"] == 5 and counts["int_matching_model_trained"] == 1
    assert differences(home / "warehouse.duckdb", steps_db, sorted(PYTHON_MODELS)) == {}


def _spark_rows(home: Path, model: str) -> int:
    """The model's rows as Spark reads `ref()` (a new Spark session: the metastore's table)."""
    args = ["show", "--target", "spark", "--output", "json", "--log-format", "json"]
    args += ["--inline", f"select count(*) as n from {{{{ ref('{model}') }}}}"]
    proc = subprocess.run(
        transform._dbt_command(home, args, home / "dbt" / "show"),
        env=transform._environment(home),
        capture_output=True,
        text=True,
        check=True,
    )
    for line in proc.stdout.splitlines():
        preview = json.loads(line).get("data", {}).get("preview")
        if preview:
            return json.loads(preview)[0]["n"]
    raise AssertionError(proc.stdout[-2000:])


@pytest.mark.slow
@pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs a Java runtime")
def test_a_spark_build_runs_the_python_steps_as_duckdb_does(tmp_path, monkeypatch):
    monkeypatch.setenv("KOL_SPARK_MASTER", "local[2]")
    duck, spark = tmp_path / "duckdb", tmp_path / "spark"
    build_landing(duck)
    shutil.copytree(duck / "landing", spark / "landing")
    scope = {
        "select": " ".join(f"+{m}" for m in ON_SPARK),
        "exclude": "resource_type:test",
        "unit_tests": False,
    }
    assert transform.run_dbt(duck, D, full_refresh=True, **scope).ok
    lines: list[str] = []
    on_spark = transform.run_dbt(
        spark, D, full_refresh=True, engine="spark", progress=lines.append, **scope
    )
    assert on_spark.ok, on_spark.failures
    assert sorted(line.split(":")[0] for line in lines if line.startswith("python step")) == [
        f"python step {m}" for m in sorted(ON_SPARK)
    ]
    counts = _counts(spark / "warehouse.duckdb", ON_SPARK)
    assert counts["int_comment_sentiment"] == 5 and all(counts.values()), counts
    assert differences(duck / "warehouse.duckdb", spark / "warehouse.duckdb", ON_SPARK) == {}
    # registered: Spark's ref() reads the step's table
    assert _spark_rows(spark, "int_comment_sentiment") == 5
