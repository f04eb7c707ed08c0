"""The Python steps (pipeline/python_steps.py): dbt Python models run from Parquet to Parquet
with dbt-duckdb's incremental semantics, and the waves a Spark build runs them in."""

from __future__ import annotations

from datetime import UTC, date, datetime, time
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from pipeline.python_steps import Node, Wave, plan_waves, run_step

PROJECT = Path(__file__).parents[2] / "dbt_project"
SENTIMENT = Node(
    name="int_comment_sentiment",
    language="python",
    path=PROJECT / "models/intermediate/int_comment_sentiment.py",
    parents=("int_comments_unioned",),
    # as dbt parses it: the model's config() call and its YAML config
    config={
        "materialized": "incremental",
        "incremental_strategy": "append",
        "unique_key": ["platform", "comment_id"],
        "from_date": "",
        "sentiment_workers": "1",
    },
)
# a model that returns its parent as it is, on the key `k`
KEYED_MODEL = """
def model(dbt, session):
    dbt.config(materialized="incremental")
    return dbt.ref("src").df()
"""


def _parquet(folder: Path, table: pa.Table) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "part-0.parquet")
    return folder


def _rows(folder: Path, order: str) -> list[tuple]:
    return duckdb.sql(
        f"select * from read_parquet('{folder}/*.parquet') order by {order}"
    ).fetchall()


def _comments(folder: Path, rows: list[tuple[str, str, date]]) -> Path:
    """int_comments_unioned's rows the model reads; each comment made at 08:00 of the day
    it was last seen."""
    return _parquet(
        folder,
        pa.table(
            {
                "platform": ["x"] * len(rows),
                "comment_id": [r[0] for r in rows],
                "comment_text": [r[1] for r in rows],
                "published_at": [datetime.combine(r[2], time(8)) for r in rows],
                "last_seen_date": [r[2] for r in rows],
            }
        ),
    )


def test_sentiment_scores_each_comment_once(tmp_path):
    out = tmp_path / "out"
    day1, day2 = date(2026, 11, 23), date(2026, 11, 24)
    first = _comments(tmp_path / "in1", [("c1", "great", day1), ("c2", "bonjour mes amis", day1)])
    env1 = {"KOL_RUN_DATE": day1.isoformat()}
    assert run_step(SENTIMENT, {"int_comments_unioned": first}, out, env=env1) == 2
    # VADER: "great" has valence 3.1, compound = 3.1 / sqrt(3.1^2 + 15) = 0.6249
    scored = {r[1]: r[2:] for r in _rows(out, "comment_id")}
    # the comment's creation time rides along (a step writes naive times as UTC instants)
    made = datetime.combine(day1, time(8), tzinfo=UTC)
    assert scored["c1"] == ("en", True, pytest.approx(0.6249, abs=1e-4), day1, made)

    # c1's stored score stands for "scored then": a changed value that survives proves no rescoring
    duckdb.sql(
        f"copy (select * replace (case when comment_id = 'c1' then 0.123 else compound end"
        f" as compound) from read_parquet('{out}/*.parquet')) to '{tmp_path}/t.parquet'"
    )
    (out / "part-0.parquet").unlink()
    (tmp_path / "t.parquet").rename(out / "part-0.parquet")
    second = _comments(
        tmp_path / "in2", [("c1", "great", day2), ("c2", "bonjour", day1), ("c3", "great", day2)]
    )
    env = {"KOL_FROM_DATE": day2.isoformat(), "KOL_RUN_DATE": day2.isoformat()}
    assert run_step(SENTIMENT, {"int_comments_unioned": second}, out, env=env) == 3
    rows = _rows(out, "comment_id")
    assert [(r[1], r[4], r[5]) for r in rows] == [
        ("c1", 0.123, day1),  # kept, not rescored
        ("c2", rows[1][4], day1),  # before from_date: not a candidate, kept
        ("c3", pytest.approx(0.6249, abs=1e-4), day2),  # new: scored by this build
    ]
    # a full refresh scores everything again
    assert run_step(SENTIMENT, {"int_comments_unioned": second}, out, full_refresh=True) == 3
    assert _rows(out, "comment_id")[0][4] == pytest.approx(0.6249, abs=1e-4)


def _keyed_node(tmp_path: Path, **config) -> Node:
    path = tmp_path / "models" / "intermediate" / "keyed.py"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(KEYED_MODEL)
    return Node("keyed", "python", path, ("src",), {"materialized": "incremental", **config})


def _src(folder: Path, rows: list[tuple[str | None, int | None]]) -> Path:
    return _parquet(
        folder,
        pa.table(
            {"k": [r[0] for r in rows], "v": [r[1] for r in rows]},
            pa.schema([("k", pa.string()), ("v", pa.int64())]),
        ),
    )


def test_delete_insert_replaces_the_rows_of_each_key_and_runs_the_post_hook(tmp_path):
    node = _keyed_node(
        tmp_path,
        incremental_strategy="delete+insert",
        unique_key="k",
        **{"post-hook": [{"sql": "delete from {{ this }} where v is null"}]},
    )
    out = tmp_path / "out"
    assert run_step(node, {"src": _src(tmp_path / "s1", [("a", 1), ("a", 2), ("b", 5)])}, out) == 3
    # a's two rows go for its one new row, b stays, c is new; (d, NULL) is removed by the hook
    new = _src(tmp_path / "s2", [("a", 10), ("c", 7), ("d", None)])
    assert run_step(node, {"src": new}, out) == 3
    assert _rows(out, "k") == [("a", 10), ("b", 5), ("c", 7)]
    assert not (tmp_path / "out.old").exists() and not (tmp_path / "out.new").exists()


def test_append_adds_rows_and_a_full_refresh_replaces_them(tmp_path):
    node = _keyed_node(tmp_path, incremental_strategy="append")
    out = tmp_path / "out"
    run_step(node, {"src": _src(tmp_path / "s1", [("a", 1)])}, out)
    assert run_step(node, {"src": _src(tmp_path / "s2", [("a", 1), ("b", 2)])}, out) == 3
    assert _rows(out, "k, v") == [("a", 1), ("a", 1), ("b", 2)]
    assert run_step(node, {"src": tmp_path / "s2"}, out, full_refresh=True) == 2


def test_append_new_columns_adds_a_column_the_stored_output_lacks(tmp_path):
    node = _keyed_node(tmp_path, incremental_strategy="append")
    out = tmp_path / "out"
    run_step(node, {"src": _src(tmp_path / "s1", [("a", 1)])}, out)
    wider = _parquet(tmp_path / "s2", pa.table({"k": ["b"], "v": [2], "w": ["new"]}))
    with pytest.raises(duckdb.Error):  # without append_new_columns, a wider output is refused
        run_step(node, {"src": wider}, out)
    widening = _keyed_node(
        tmp_path, incremental_strategy="append", on_schema_change="append_new_columns"
    )
    assert run_step(widening, {"src": wider}, out) == 2
    assert _rows(out, "k") == [("a", 1, None), ("b", 2, "new")]


def test_a_missing_parent_is_named_and_the_output_stays(tmp_path):
    node = _keyed_node(tmp_path, incremental_strategy="append")
    out = tmp_path / "out"
    run_step(node, {"src": _src(tmp_path / "s1", [("a", 1)])}, out)
    with pytest.raises(ValueError, match="no Parquet for src"):
        run_step(node, {"src": tmp_path / "nothing"}, out)
    assert _rows(out, "k") == [("a", 1)]


def test_an_interrupted_swap_keeps_the_previous_output(tmp_path):
    node = _keyed_node(tmp_path, incremental_strategy="append")
    out = tmp_path / "out"
    run_step(node, {"src": _src(tmp_path / "s1", [("a", 1)])}, out)
    out.rename(tmp_path / "out.old")  # killed between the two renames of the swap
    assert run_step(node, {"src": _src(tmp_path / "s2", [("b", 2)])}, out) == 2


def _node(name: str, language: str, *parents: str) -> Node:
    return Node(name, language, Path(f"{name}.{language}"), parents)


def test_waves_build_sql_below_a_python_model_after_it():
    # a -> p(py) -> b -> q(py) -> c, and x beside them
    nodes = {
        n.name: n
        for n in [
            _node("a", "sql"),
            _node("x", "sql"),
            _node("p", "python", "a"),
            _node("b", "sql", "p", "x"),
            _node("q", "python", "b"),
            _node("c", "sql", "q", "a"),
        ]
    }
    assert plan_waves(nodes, set(nodes)) == [
        Wave(("a", "x"), ("p",)),
        Wave(("b",), ("q",)),
        Wave(("c",), ()),
    ]
    # a Python model left out of the selection counts as built: its table stays as it is
    assert plan_waves(nodes, {"a", "b", "c"}) == [Wave(("a", "b", "c"), ())]
    assert plan_waves(nodes, {"p", "q"}) == [Wave((), ("p",)), Wave((), ("q",))]
