"""Marts built before and after landing compaction are the same row for row, and staging then
reads the month files plus only the day folders no month covers (real dbt on DuckDB)."""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest
from dbt_landing_fixture import DAILY_DATES, D, build_landing

from bench.history import fabricate_history
from ingestion.compacted import read_compaction
from ingestion.compaction import compact
from pipeline.published import PUBLISHED_TABLES
from pipeline.transform import _dbt_command, _environment, run_dbt

pytestmark = pytest.mark.integration

# September and October: copies of 2026-11-22 shifted back (bench/history.py), compacted
# (whole months more than 20 days before D); November stays in day folders.
HISTORY = [date(2026, 9, 20) + timedelta(days=n) for n in range(0, 42, 3)]
COMPARED = (
    *PUBLISHED_TABLES,
    "int_account_snapshots_unioned",
    "int_posts_unioned",
    "int_post_metrics_daily",
    "int_comments_unioned",
    "int_account_metrics_as_of",
)


def differences(con: duckdb.DuckDBPyConnection, table: str) -> list[tuple]:
    """Rows in one side and not the other (doubles at 9 decimals: parallel sums' noise)."""
    columns = con.execute(f"describe before.{table}").fetchall()
    select = ", ".join(
        f"round({name}, 9) as {name}" if kind == "DOUBLE" else name for name, kind, *_ in columns
    )
    left, right = (f"select {select} from {side}.{table}" for side in ("before", "after"))
    return con.execute(
        f"(({left}) except all ({right})) union all (({right}) except all ({left}))"
    ).fetchall()


def test_marts_are_the_same_before_and_after_compaction(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    before = tmp_path / "before"
    build_landing(before)
    fabricate_history(before / "landing", DAILY_DATES[0], HISTORY)
    # a page re-pulled the same day: identical rows in a second file of a compacted day
    day = before / "landing/records/posts/platform=tiktok/dt=2026-10-02"
    shutil.copy(next(day.glob("*.parquet")), day / "part-repulled.parquet")
    after = tmp_path / "after"
    shutil.copytree(before, after)
    monkeypatch.setenv("KOL_DBT_THREADS", "2")
    no_tests = "resource_type:test resource_type:unit_test"

    built = run_dbt(before, D, full_refresh=True, exclude=no_tests, unit_tests=False)
    assert built.ok, built.failures
    result = compact(after / "landing", D, records_after_days=20, raw_after_days=20)
    assert {m.rsplit("/", 1)[1] for m in result.months} == {"2026-09", "2026-10"}
    assert result.rows_out < result.rows_in  # the re-pulled copy went
    built = run_dbt(after, D, full_refresh=True, exclude=no_tests, unit_tests=False)
    assert built.ok, "\n".join(built.failures)

    con = duckdb.connect()
    con.execute(f"attach '{before / 'warehouse.duckdb'}' as before (read_only)")
    con.execute(f"attach '{after / 'warehouse.duckdb'}' as after (read_only)")
    for table in COMPARED:
        n = con.execute(f"select count(*) from before.{table}").fetchone()[0]
        assert differences(con, table) == [], table
        assert n == con.execute(f"select count(*) from after.{table}").fetchone()[0]
    history_rows = con.execute(
        "select count(*) from after.int_post_metrics_daily where landing_date < '2026-11-01'"
    ).fetchone()[0]
    assert history_rows > 0  # the month files were read
    con.close()

    # the staging view names the month files and only the uncovered day folders
    manifest = read_compaction(after / "landing")
    sql = (after / "dbt/target/run/kol/models/staging/tiktok/stg_tiktok__posts.sql").read_text()
    assert "**" not in sql
    months = [e["file"] for e in manifest["records"] if e["entity"] == "posts"]
    months = [m for m in months if "platform=tiktok" in m]
    assert len(months) == 2 and all(m in sql for m in months)
    assert "dt=2026-11-22" in sql and "dt=2026-10-02" not in sql
    assert json.loads((after / "landing/compacted/manifest.json").read_text())["version"] == 1

    # the build resolved every source's files once (on-run-start) and dropped the list at its
    # end; a compile without hooks resolves the view's own source to the same files
    con = duckdb.connect(str(after / "warehouse.duckdb"), read_only=True)
    assert con.execute(
        "select count(*) from duckdb_tables() where table_name = '_kol_landing_files'"
    ).fetchone() == (0,)
    con.close()
    compiled = _compile(after, "stg_tiktok__posts")
    assert _parquet_files(compiled) == _parquet_files(sql)
    assert len(_parquet_files(sql)) > len(months)


def _parquet_files(sql: str) -> list[str]:
    return re.findall(r"'([^']+\.parquet)'", sql)


def _compile(home: Path, model: str) -> str:
    """`dbt compile` of one model as of D (dbt runs no on-run-start hook for it)."""
    target = home / "dbt" / "compile-target"
    env = {**_environment(home), "KOL_RUN_DATE": D.isoformat()}
    proc = subprocess.run(
        _dbt_command(home, ["compile", "--select", model], target),
        env=env,
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-2000:]
    return next((target / "compiled").rglob(f"{model}.sql")).read_text()
