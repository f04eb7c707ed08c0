"""Whole runs (`kol run`: extract, dbt, GX gate, publish) on the 6-creator world: idempotency,
backfill, kill -9 at each stage, a glitch day, and what the published and landed files hold.

Each full run takes about a minute on two cores, so these tests are `slow` (`make test-slow`);
they share the two published daily runs of the `daily_home` fixture and work on copies.
"""

from __future__ import annotations

import gzip
import json
import shutil
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

import duckdb
import pyarrow.parquet as pq
import pytest
from rel_harness import (
    REPO,
    D,
    Watched,
    check_landing_readable,
    check_serving_readable,
    children_of,
    file_sha256,
    full_run,
    ledger_rows,
    marts_fingerprint,
    read_all_bytes,
    run_kol,
    wait_for_orphans_to_exit,
)

from pipeline.published import PUBLISHED_TABLES

pytestmark = [pytest.mark.slow, pytest.mark.integration]

PAUSE_HOOK = Path(__file__).resolve().parent / "pause_hook"


def one_part_per_partition(landing: Path) -> None:
    """A re-run replaces a date's partitions: one records file per folder, never two."""
    for folder in (landing / "records").rglob("dt=*"):
        parts = [p.name for p in folder.glob("*.parquet") if not p.name.startswith("_")]
        assert len(parts) <= 1, (folder, parts)


# --- idempotency ---------------------------------------------------------------------------


def test_same_date_twice_gives_identical_marts(kol_world, daily_home, published_copy):
    again = full_run(kol_world, published_copy, D)
    assert again["returncode"] == 0, again["stderr"][-3000:]
    serving = published_copy / "serving" / "marts.duckdb"
    assert marts_fingerprint(serving) == daily_home["fingerprints"][D]
    rows = ledger_rows(published_copy)
    assert rows[-1].status == "published" and rows[-1].mart_rows == rows[-2].mart_rows
    one_part_per_partition(published_copy / "landing")


def test_backfill_over_two_days_equals_two_daily_runs(kol_world, daily_home, tmp_path):
    # A past date cannot be extracted again: backfill re-derives it from its landed raw pages.
    home = tmp_path / "kol"
    shutil.copytree(daily_home["home"] / "landing", home / "landing")
    shutil.copy2(daily_home["home"] / ".salt", home / ".salt")
    for records in (home / "landing" / "records").glob("*/platform=*/dt=*/*.parquet"):
        records.unlink()  # the platforms' records are rebuilt from their raw pages
    start = D - timedelta(days=1)
    proc = run_kol(kol_world.env(home), "backfill", "--start", str(start), "--end", str(D))
    assert proc.returncode == 0, proc.stderr[-3000:]
    rows = ledger_rows(home)
    assert [(r.run_date, r.status) for r in rows] == [(start, "published"), (D, "published")]
    daily = ledger_rows(daily_home["home"])
    assert [r.mart_rows for r in rows] == [r.mart_rows for r in daily]
    assert marts_fingerprint(home / "serving" / "marts.duckdb") == daily_home["fingerprints"][D]


# --- crash safety: kill -9 at each stage ----------------------------------------------------


def assert_last_good_state(home: Path, baseline_sha: str) -> int:
    """Serving is byte-for-byte the last good publish; no partial file is visible anywhere."""
    assert file_sha256(home / "serving" / "marts.duckdb") == baseline_sha
    check_serving_readable(home / "serving")
    return check_landing_readable(home / "landing")


def test_kill_9_during_dbt_gate_and_publish_keeps_the_last_good_marts(
    kol_world, daily_home, published_copy
):
    home, baseline = published_copy, daily_home["sha256"]
    kol_world.server.set_clock(D)
    env = kol_world.env(home)

    # 1. during `dbt build`: a dbt child is running and has built some models
    run = Watched(env, "run", "--date", str(D))
    run.wait_for(
        lambda: (
            sum("OK created" in line for line in run.lines) >= 30
            and any("dbt" in cmd for _, cmd in children_of(run.proc.pid))
        ),
        timeout=600,
        what="dbt building models",
    )
    dbt_children = [pid for pid, cmd in children_of(run.proc.pid) if "dbt" in cmd]
    run.kill_9()
    survivors = wait_for_orphans_to_exit(dbt_children)
    assert not survivors, f"orphaned dbt process(es) {survivors} still write the warehouse"
    assert_last_good_state(home, baseline)

    # 2. during the quality gate (the next run gets through dbt after the crash)
    run = Watched(env, "run", "--date", str(D))
    run.wait_for(lambda: run.saw(f"gate {D}:"), timeout=900, what="the gate starting")
    time.sleep(2.0)
    assert not run.saw("Quality gate PASSED")
    run.kill_9()
    assert_last_good_state(home, baseline)

    # 3. during publish: one Parquet copy swapped in, marts.duckdb not yet
    marker = home.parent / "paused-in-publish"
    run = Watched(
        {**env, "KOL_TEST_PAUSE_PUBLISH": str(marker), "PYTHONPATH": f"{PAUSE_HOOK}:{REPO}"},
        "run",
        "--date",
        str(D),
    )
    run.wait_for(marker.exists, timeout=900, what="publish swapping its first file")
    assert run.saw("Quality gate PASSED")
    run.kill_9()
    assert_last_good_state(home, baseline)
    leftovers = list((home / "serving").rglob(".tmp-*"))
    assert leftovers  # the killed publish left only hidden temporaries behind

    # 4. the next run completes, cleans up and publishes the same marts as a clean run
    final = full_run(kol_world, home, D)
    assert final["returncode"] == 0, final["stderr"][-3000:]
    assert marts_fingerprint(home / "serving" / "marts.duckdb") == daily_home["fingerprints"][D]
    assert not list((home / "serving").rglob(".tmp-*"))
    check_serving_readable(home / "serving")
    parquet_matches_duckdb(home / "serving")
    check_landing_readable(home / "landing")
    one_part_per_partition(home / "landing")
    assert ledger_rows(home)[-1].status == "published"


def parquet_matches_duckdb(serving: Path) -> None:
    """After a publish, every Parquet copy holds the same rows as its DuckDB table."""
    con = duckdb.connect(str(serving / "marts.duckdb"), read_only=True)
    try:
        for table in PUBLISHED_TABLES:
            n = con.execute(f'SELECT count(*) FROM "{table}"').fetchone()[0]
            assert pq.read_metadata(serving / "parquet" / f"{table}.parquet").num_rows == n, table
    finally:
        con.close()


# --- a glitch day: the gate stops it --------------------------------------------------------


def test_glitch_day_fails_the_gate_and_leaves_the_marts_unchanged(
    kol_world, daily_home, published_copy
):
    kol_world.set_faults("glitch")
    try:
        run = full_run(kol_world, published_copy, D)
    finally:
        kol_world.set_faults("")
    assert run["returncode"] == 4, run["stderr"][-3000:]
    assert "quality gate failed" in run["stderr"]
    assert "followers" in run["stderr"]  # the failing expectation is named
    assert file_sha256(published_copy / "serving" / "marts.duckdb") == daily_home["sha256"]
    last = ledger_rows(published_copy)[-1]
    assert last.status == "gate_failed" and last.failed_expectations
    verdict = json.loads(
        (published_copy / "landing" / "manifests" / f"dt={D}" / "_gate.json").read_text()
    )
    assert verdict["status"] == "rejected"


# --- what the files hold ----------------------------------------------------------------------


def test_no_token_anywhere_under_kol_home_or_in_the_output(kol_world, daily_home):
    token = kol_world.token.encode()
    checked = 0
    for path, data in read_all_bytes(daily_home["home"]):
        assert token not in data, path
        checked += 1
    assert checked > 100
    # dbt logs and GX Data Docs are among the files scanned
    assert any((daily_home["home"] / "dbt" / "logs").rglob("*.log"))
    assert any((daily_home["home"] / "quality" / "data_docs").rglob("*.html"))
    for run in daily_home["runs"].values():
        assert kol_world.token not in run["stdout"] + run["stderr"]


def landed_values(landing: Path, entity: str, column: str) -> set[str]:
    values: set[str] = set()
    for path in (landing / "records" / entity).rglob("*.parquet"):
        table = pq.read_table(path)
        if column in table.column_names:
            values.update(str(v) for v in table.column(column).to_pylist() if v)
    return values


def test_serving_holds_only_the_published_marts_without_comment_text_or_authors(daily_home):
    home = daily_home["home"]
    con = duckdb.connect(str(home / "serving" / "marts.duckdb"), read_only=True)
    try:
        tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
        assert tables == set(PUBLISHED_TABLES)
        assert not con.execute("SELECT * FROM duckdb_views() WHERE NOT internal").fetchall()
        columns = con.execute(
            "SELECT table_name, column_name FROM duckdb_columns() WHERE NOT internal"
        ).fetchall()
        assert {t for t, _ in columns} == set(PUBLISHED_TABLES)
        for table, column in columns:
            lowered = column.lower()
            assert not any(
                bad in lowered for bad in ("text", "author", "message", "caption", "token", "email")
            ), (table, column)
        dump = "\n".join(
            row[0]
            for table in PUBLISHED_TABLES
            for row in con.execute(f'SELECT to_json(t)::VARCHAR FROM "{table}" t').fetchall()
        )
        with pytest.raises(duckdb.Error):  # readers cannot write through a read-only handle
            con.execute("CREATE TABLE sneaky AS SELECT 1")
    finally:
        con.close()
    texts = {t for t in landed_values(home / "landing", "comments", "text") if len(t) >= 12}
    authors = landed_values(home / "landing", "comments", "author_hash")
    assert texts and authors
    leaked = [t for t in texts | authors if t in dump]
    assert not leaked, leaked[:5]


def test_raw_pages_hold_no_commenter_id_in_clear(daily_home):
    """X `author_id` and YouTube `authorChannelId` are kept only as salted hashes."""
    landing = daily_home["home"] / "landing"
    hashes = landed_values(landing, "comments", "author_hash")
    seen = 0
    for path in (landing / "raw" / "platform=x" / "endpoint=replies").rglob("*.jsonl.gz"):
        for line in gzip.decompress(path.read_bytes()).decode().splitlines():
            body: Any = json.loads(json.loads(line)["body"] or "{}")
            for tweet in body.get("data", []) if isinstance(body, dict) else []:
                assert tweet["author_id"] in hashes
                seen += 1
    assert seen > 0
