"""The same dbt project on DuckDB and on local Apache Spark gives the same rows.

Both builds read one landing (copied to two homes); Spark's models reach a DuckDB file through
the engine's hand-over (pipeline/spark_handover.py), the path the gate and publish read, and
are compared row for row with DuckDB's (tests/table_parity.py: doubles at 12
significant digits, lists order-independent). The reduced test builds a few models of each layer on the hand-made
landing, chosen for the constructs the engines write differently (QUALIFY, ASOF joins, list
lambdas and list macros, regexes, leading trims, a date series with a fallback join, a sorted
string aggregate, a model contract), the parents it does not build taken from the DuckDB
build (tests/dbt/spark_tables.py); the slow one builds the whole project on a sandbox world,
the Python models as the Spark build's pipeline steps (pipeline/python_steps.py).
"""

from __future__ import annotations

import shutil
from pathlib import Path

import duckdb
import pytest
from dbt_landing_fixture import D, build_landing, ig1_comment, write_api
from spark_tables import export_tables, import_into_spark
from table_parity import differences

from pipeline import transform
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
    # downstream of the Python models: regex classes, an ASOF join, QUALIFY of the top N,
    # country_match's list macros
    "int_comment_features",
    "int_account_features_at_cutoff",
    "int_brand_creator_candidates",
]
# what REDUCED reads but does not build, from the DuckDB build
REDUCED_PARENTS = [
    "creator_scorecard",
    "fct_campaign_creator_performance",
    "generic_comment_phrases",
    "int_account_snapshots_unioned",
    "int_brand_creator_topic_similarity",
    "int_comment_sentiment",
    "int_comments_unioned",
    "int_post_metrics_latest",
    "int_posts_unioned",
    "niche_adjacency",
    "stg_exports__brands",
]
# comments whose normalised text needs every regex class: @handles, emoji, accents, digits
COMMENTS = {
    "rx1": ("@maria_12 Qué bonito 😍!!", "qué bonito"),
    "rx2": ("🔥🔥🔥", ""),
    "rx3": ("Ça va?  2 fois\tmerci @bob.x", "ça va 2 fois merci"),
}


def _homes(tmp_path: Path, land) -> tuple[Path, Path]:
    duck, spark = tmp_path / "duckdb", tmp_path / "spark"
    land(duck)
    shutil.copytree(duck / "landing", spark / "landing")
    return duck, spark


def _tables(db: Path) -> dict[str, int]:
    with duckdb.connect(str(db), read_only=True) as con:
        names = [r[0] for r in con.execute("select table_name from duckdb_tables()").fetchall()]
        return {n: con.execute(f'select count(*) from "{n}"').fetchone()[0] for n in names}


def _land_with_comments(home: Path) -> None:
    build_landing(home)
    write_api(
        home,
        "comments",
        "instagram",
        D,
        [ig1_comment(cid, text) for cid, (text, _) in COMMENTS.items()],
        run="regex",
    )


def test_a_few_models_per_layer_match_row_for_row(tmp_path, monkeypatch):
    monkeypatch.setenv("KOL_SPARK_MASTER", "local[2]")
    duck, spark = _homes(tmp_path, _land_with_comments)
    # the models alone: their data tests would need models outside the selection
    scope = {"exclude": "resource_type:test", "unit_tests": False}
    ancestors = " ".join(f"+{m}" for m in REDUCED)
    on_duckdb = run_dbt(duck, D, full_refresh=True, select=ancestors, **scope)
    assert on_duckdb.ok, on_duckdb.failures
    parents = export_tables(duck / "warehouse.duckdb", REDUCED_PARENTS, tmp_path / "parents")
    import_into_spark(spark, parents)
    on_spark = run_dbt(
        spark, D, full_refresh=True, engine="spark", select=" ".join(REDUCED), **scope
    )
    assert on_spark.ok, on_spark.failures

    built = _tables(spark / "warehouse.duckdb")
    assert set(built) == set(REDUCED)
    # every compared model holds rows (an empty pair would match trivially)
    assert all(built.values()), built
    with duckdb.connect(str(spark / "warehouse.duckdb"), read_only=True) as con:
        # the fixture's two campaigns carry '#GlowUp'-style hashtags, stripped the same way
        tags = con.execute("select list(hashtag order by hashtag) from stg_exports__campaigns")
        assert tags.fetchone()[0] == ["dinner", "glowup"]
        # Spark's regexes give the hand-worked texts, not merely the same as DuckDB's
        texts = con.execute(
            "select comment_id, normalised_text from int_comment_features"
            " where comment_id like 'rx%'"
        ).fetchall()
    assert dict(texts) == {cid: want for cid, (_, want) in COMMENTS.items()}
    assert differences(duck / "warehouse.duckdb", spark / "warehouse.duckdb", REDUCED) == {}


@pytest.mark.slow
def test_every_model_matches_on_a_sandbox_world(tmp_path, monkeypatch):
    from test_dbt_sandbox_world import END, land_world

    monkeypatch.setenv("KOL_SPARK_MASTER", "local[2]")
    duck, spark = _homes(tmp_path, land_world)
    on_duckdb = run_dbt(duck, END, full_refresh=True, unit_tests=False)
    assert on_duckdb.ok, on_duckdb.failures
    on_spark = run_dbt(spark, END, full_refresh=True, unit_tests=False, engine="spark")
    assert on_spark.ok, on_spark.failures

    built = _tables(spark / "warehouse.duckdb")
    # every mart, and the Python models Spark's build ran as pipeline steps
    python = {p.stem for p in (transform.PROJECT_DIR / "models").rglob("*.py")}
    marts = {"dim_creators", "fct_creator_daily", "creator_scorecard", "platform_comparison"}
    marts |= {"campaign_summary", "brand_creator_matches", "matching_backtest"}
    assert marts | python <= set(built)
    assert differences(duck / "warehouse.duckdb", spark / "warehouse.duckdb", sorted(built)) == {}
