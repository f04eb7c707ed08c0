"""What the gate reads: few columns into pandas, each mart's checked columns as a DuckDB batch.

The gate used to read every mart whole into pandas (5.6 GB at agency size); now cross-table
checks get only `cross_columns` and a mart's suite validates a Parquet batch DuckDB writes.
These tests pin that the narrowing changes no verdict and that batches keep GX's fast types.
"""

from __future__ import annotations

import math
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from gate_world import PLATFORMS, RUN_DATE, mutate

from expectations import report
from expectations.gate import GateInputs, read_inputs, run_gate, write_batches
from expectations.marts import MARTS
from expectations.suites import build_checks
from expectations.thresholds import load_thresholds
from pipeline.publish import publish
from pipeline.published import PUBLISHED_TABLES

pytestmark = pytest.mark.integration


@pytest.fixture(scope="module")
def published_yesterday(clean_warehouses, tmp_path_factory) -> Path:
    """A serving DB holding yesterday's marts (the volume/distribution baseline)."""
    serving = tmp_path_factory.mktemp("serving")
    publish(clean_warehouses["previous"], serving, PUBLISHED_TABLES)
    return serving / "marts.duckdb"


def _whole(db: Path, tables) -> dict[str, pd.DataFrame]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {t: con.execute(f'SELECT * FROM "{t}"').df() for t in tables}
    finally:
        con.close()


def _signature(check) -> tuple:
    configs = [e.configuration.to_json_dict() for e in check.expectations]
    frame = None if check.frame is None else check.frame.to_dict("list")
    return check.suite, check.columns, frame, configs


def test_cross_checks_on_their_columns_see_what_whole_marts_show(
    warehouse_copy, published_yesterday
):
    # Break the day so integrity, volume and distribution checks all have something to count.
    broken = mutate(
        warehouse_copy(),
        "INSERT INTO creator_scorecard SELECT * REPLACE ('ghost' AS creator_id) "
        "FROM creator_scorecard LIMIT 1",
        "UPDATE creator_scorecard SET followers = followers // 3, "
        "engagement_rate = engagement_rate * 20 WHERE platform = 'x'",
        "DELETE FROM fct_creator_daily WHERE platform = 'tiktok'",
    )
    narrow = read_inputs(
        broken, RUN_DATE, PUBLISHED_TABLES, published_yesterday, PLATFORMS, load_thresholds()
    )
    whole = GateInputs(
        run_date=narrow.run_date,
        extracted_platforms=narrow.extracted_platforms,
        frames=_whole(broken, narrow.frames),
        column_types=narrow.column_types,
        row_counts=narrow.row_counts,
        previous=_whole(published_yesterday, narrow.previous),
        thresholds=narrow.thresholds,
        invariants=narrow.invariants,
        orphans=narrow.orphans,  # counted in DuckDB (test_gate_checks: the orphans' counts)
    )

    narrow_checks = [_signature(c) for c in build_checks(narrow)]
    whole_checks = [_signature(c) for c in build_checks(whole)]

    assert narrow_checks == whole_checks
    suites = {s[0] for s in narrow_checks}
    assert {"cross.integrity", "cross.freshness", "cross.volume", "cross.distribution"} <= suites
    # and the frames really are narrow: the 22-column scorecard is read for 4 columns, a
    # year of posts for their platform only, as categories
    assert len(narrow.frames["creator_scorecard"].columns) < len(
        narrow.column_types["creator_scorecard"]
    )
    assert list(narrow.frames["fct_post_performance"].columns) == ["platform"]
    assert isinstance(narrow.frames["fct_post_performance"]["platform"].dtype, pd.CategoricalDtype)
    assert narrow.row_counts["creator_scorecard"] == len(whole.frames["creator_scorecard"])


def test_mart_batches_hold_the_checked_columns_in_types_gx_is_fast_on(clean_warehouses, tmp_path):
    warehouse = clean_warehouses["today"]
    inputs = read_inputs(warehouse, RUN_DATE, PUBLISHED_TABLES, None, PLATFORMS, load_thresholds())
    checks = [c for c in build_checks(inputs) if c.frame is None]
    assert {c.table for c in checks} == set(PUBLISHED_TABLES)

    paths = write_batches(checks, warehouse, inputs.column_types, tmp_path)

    whole = _whole(warehouse, PUBLISHED_TABLES)
    for check in checks:
        [path] = paths[check.suite]  # small marts: one batch each
        batch = pd.read_parquet(path)
        mart = MARTS[check.table]
        assert list(batch.columns) == [c for c in mart.checked_columns if c in whole[check.table]]
        assert len(batch) == len(whole[check.table]), check.table
        for column in batch.columns:
            dtype = batch[column].dtype
            assert not (pd.api.types.is_integer_dtype(dtype) and str(dtype) != "int64"), (
                check.table,
                column,
                dtype,
            )
            if pd.api.types.is_datetime64_dtype(dtype):
                assert str(dtype) == "datetime64[ns]", (check.table, column, dtype)
            expected = whole[check.table][column]
            if pd.api.types.is_numeric_dtype(dtype) and not pd.api.types.is_bool_dtype(dtype):
                # same values, NULLs included (NaN once in pandas)
                assert sorted(batch[column].fillna(-1).tolist()) == sorted(
                    pd.to_numeric(expected).fillna(-1).tolist()
                ), (check.table, column)
    daily = pd.read_parquet(paths["mart.fct_creator_daily"][0])
    assert str(daily["date"].dtype) == "datetime64[ns]"
    assert daily["date"].max().date() == RUN_DATE


def test_a_date_outside_the_nanosecond_range_is_still_checked(warehouse_copy, tmp_path):
    far = mutate(
        warehouse_copy(),
        "UPDATE fct_creator_daily SET date = DATE '9999-12-31' "
        "WHERE creator_id = (SELECT min(creator_id) FROM fct_creator_daily)",
        "UPDATE fct_creator_daily SET date = NULL "
        "WHERE creator_id = (SELECT max(creator_id) FROM fct_creator_daily)",
    )
    quality = tmp_path / "quality"

    gate = run_gate(far, RUN_DATE, quality, tables=["fct_creator_daily"], run_id="far")

    batch = pd.read_parquet(quality / "gx" / "frames" / "mart.fct_creator_daily.parquet")
    assert batch["date"].dropna().max().year == 9999  # kept as it is, not wrapped around
    failed = {(f.table, f.column, f.expectation_type) for f in gate.failures}
    assert ("fct_creator_daily", "date", "expect_column_values_to_not_be_null") in failed
    assert not any("could not be evaluated" in f.message for f in gate.failures)
    shutil.rmtree(quality)


def test_a_large_mart_is_validated_in_slices_that_keep_each_key_whole(warehouse_copy, tmp_path):
    # Two rows of one post: a duplicated key must still fail when the mart is sliced, and the
    # verdict (expectations evaluated, what failed, the counts) must be the unsliced one.
    twice = mutate(
        warehouse_copy(),
        "INSERT INTO fct_post_performance SELECT * FROM fct_post_performance "
        "WHERE post_id = 'instagram-c1-p0'",
    )
    tables = ["fct_post_performance", "fct_creator_daily", "dim_creators"]
    inputs = read_inputs(twice, RUN_DATE, tables, None, PLATFORMS, load_thresholds())
    rows = inputs.row_counts["fct_post_performance"]
    assert rows > 8

    whole = run_gate(twice, RUN_DATE, tmp_path / "whole", tables=tables, run_id="whole")
    slice_rows = math.ceil(rows / 3)
    sliced = run_gate(
        twice, RUN_DATE, tmp_path / "sliced", tables=tables, run_id="sliced", slice_rows=slice_rows
    )

    frames = tmp_path / "sliced" / "gx" / "frames"
    slices = sorted(frames.glob("mart.fct_post_performance.slice-*.parquet"))
    n = math.ceil(rows / slice_rows)
    assert len(slices) == n > 1
    assert not list(frames.glob("mart.fct_post_performance.parquet"))
    parts = [pd.read_parquet(s) for s in slices]
    assert sum(len(p) for p in parts) == rows
    keys = [set(zip(p["platform"], p["post_id"], strict=True)) for p in parts]
    assert sum(len(k) for k in keys) == len(set().union(*keys))  # no key in two slices
    assert sliced.evaluated == whole.evaluated
    assert [f.message for f in sliced.failures] == [f.message for f in whole.failures]
    [key] = [f for f in sliced.failures if f.expectation_type.startswith("expect_compound")]
    assert f"in 2 of {rows} rows" in key.message
    [run] = [r for r in report.read_runs(tmp_path / "sliced") if r["run_id"] == "sliced"]
    assert f"mart.fct_post_performance [slice {n} of {n}]" in run["pages"]
