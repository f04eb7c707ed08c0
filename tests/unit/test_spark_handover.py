"""Spark's exported models replace their tables in warehouse.duckdb, with DuckDB's types."""

from __future__ import annotations

from datetime import UTC, datetime

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from pipeline.spark_handover import export_dir, load_into_duckdb


def _export(home, model: str, table: pa.Table) -> None:
    folder = export_dir(home) / model
    folder.mkdir(parents=True)
    pq.write_table(table, folder / "part-00000-x.snappy.parquet")
    (folder / "_SUCCESS").write_text("")  # Spark's marker file is no Parquet: not read


def test_exported_models_replace_their_tables_with_naive_utc_timestamps(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create table dim_x as select 'stale' as creator_id")
        con.execute("create table untouched as select 1 as n")
    # Spark writes a TIMESTAMP as an instant (isAdjustedToUTC): 23:30 UTC, whatever the zone
    instant = datetime(2026, 11, 24, 23, 30, tzinfo=UTC)
    _export(
        tmp_path,
        "dim_x",
        pa.table(
            {
                "creator_id": ["c1", "c2"],
                "seen_at": pa.array([instant, None], pa.timestamp("us", tz="UTC")),
                "hashtags": [["a", "b"], []],
            }
        ),
    )

    assert load_into_duckdb(tmp_path) == ["dim_x"]

    with duckdb.connect(str(warehouse), read_only=True) as con:
        con.execute("set TimeZone = 'Asia/Tokyo'")  # a reader's zone changes nothing
        kinds = con.execute("select column_name, column_type from (describe dim_x)").fetchall()
        assert kinds == [
            ("creator_id", "VARCHAR"),
            ("seen_at", "TIMESTAMP"),
            ("hashtags", "VARCHAR[]"),
        ]
        rows = con.execute("select * from dim_x order by creator_id").fetchall()
        assert rows == [("c1", datetime(2026, 11, 24, 23, 30), ["a", "b"]), ("c2", None, [])]
        assert con.execute("select n from untouched").fetchall() == [(1,)]


def test_nothing_exported_changes_nothing(tmp_path):
    assert load_into_duckdb(tmp_path) == []


def test_a_view_of_an_earlier_duckdb_build_is_replaced_by_the_table(tmp_path):
    warehouse = tmp_path / "warehouse.duckdb"
    with duckdb.connect(str(warehouse)) as con:
        con.execute("create view stg_x as select 'stale' as post_id")
    _export(tmp_path, "stg_x", pa.table({"post_id": ["p1"]}))

    assert load_into_duckdb(tmp_path) == ["stg_x"]

    with duckdb.connect(str(warehouse), read_only=True) as con:
        assert con.execute("select table_type from information_schema.tables").fetchall() == [
            ("BASE TABLE",)
        ]
        assert con.execute("select post_id from stg_x").fetchall() == [("p1",)]
