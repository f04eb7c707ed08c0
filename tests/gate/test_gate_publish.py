"""Publish: only marts reach serving/, atomically, with a content checksum (no GX here)."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from datetime import timedelta
from pathlib import Path

import duckdb
import pyarrow.parquet as pq
import pytest
from gate_world import ACCOUNTS, RUN_DATE, file_sha256, mutate

from pipeline.publish import (
    PublishError,
    content_checksum,
    publish,
)
from pipeline.published import PUBLISHED_TABLES


def _tables(db: Path) -> set[str]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        return {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
    finally:
        con.close()


def test_serving_holds_only_marts_without_comment_text(clean_warehouses, tmp_path):
    result = publish(clean_warehouses["today"], tmp_path / "serving", PUBLISHED_TABLES)

    assert result.path == tmp_path / "serving" / "marts.duckdb"
    assert _tables(result.path) == set(PUBLISHED_TABLES)  # no stg_comments, no raw_secrets
    con = duckdb.connect(str(result.path), read_only=True)
    columns = {
        r[0].lower() for r in con.execute("SELECT column_name FROM duckdb_columns()").fetchall()
    }
    con.close()
    assert not columns & {"text", "comment_text", "access_token"}
    assert b"SECRET-TOKEN-VALUE" not in result.path.read_bytes()
    accounts = sum(len(p) for p in ACCOUNTS.values())
    assert result.rows["creator_scorecard"] == accounts
    assert result.rows["dim_creators"] == len(ACCOUNTS)
    # Parquet copies alongside, same rows, and no temporary file left visible.
    parquet = tmp_path / "serving" / "parquet"
    assert sorted(p.name for p in parquet.iterdir()) == sorted(
        f"{t}.parquet" for t in PUBLISHED_TABLES
    )
    assert pq.read_table(parquet / "creator_scorecard.parquet").num_rows == accounts
    assert [p.name for p in (tmp_path / "serving").iterdir() if p.name.startswith(".")] == []


def test_checksum_is_content_not_bytes(clean_warehouses, tmp_path):
    first = publish(clean_warehouses["today"], tmp_path / "a", PUBLISHED_TABLES)
    second = publish(clean_warehouses["today"], tmp_path / "b", PUBLISHED_TABLES)
    previous = publish(clean_warehouses["previous"], tmp_path / "c", PUBLISHED_TABLES)

    assert first.checksum == second.checksum
    assert first.checksum == content_checksum(clean_warehouses["today"], PUBLISHED_TABLES)
    assert previous.checksum != first.checksum  # another run date: other as_of_date values
    # Same content, built in the other table order: same checksum.
    reordered = publish(clean_warehouses["today"], tmp_path / "d", PUBLISHED_TABLES[::-1])
    assert reordered.checksum == first.checksum


def test_one_changed_value_changes_the_checksum(warehouse_copy, clean_warehouses):
    changed = mutate(
        warehouse_copy(), "UPDATE campaign_summary SET revenue_usd = revenue_usd + 0.01"
    )
    assert content_checksum(changed, PUBLISHED_TABLES) != content_checksum(
        clean_warehouses["today"], PUBLISHED_TABLES
    )


def test_checksum_sees_values_moved_between_rows_not_row_order_or_float_noise(
    warehouse_copy, clean_warehouses
):
    # The rows are summed as a multiset of row hashes: swapping two rows' values changes two
    # rows (a per-column sum would not notice); the 16th digit of a double is noise.
    today = content_checksum(clean_warehouses["today"], PUBLISHED_TABLES)
    swapped = mutate(
        warehouse_copy(),
        "CREATE TEMP TABLE two AS SELECT min(followers) AS lo, max(followers) AS hi, "
        "arg_min(rowid, followers) AS lo_row, arg_max(rowid, followers) AS hi_row "
        "FROM creator_scorecard",
        "UPDATE creator_scorecard SET followers = CASE rowid "
        "WHEN (SELECT lo_row FROM two) THEN (SELECT hi FROM two) ELSE (SELECT lo FROM two) END "
        "WHERE rowid IN (SELECT lo_row FROM two UNION SELECT hi_row FROM two)",
    )
    con = duckdb.connect(str(swapped), read_only=True)
    before = duckdb.connect(str(clean_warehouses["today"]), read_only=True)
    query = "SELECT sum(followers), count(DISTINCT followers) FROM creator_scorecard"
    assert con.execute(query).fetchone() == before.execute(query).fetchone()  # a true swap
    assert con.execute("SELECT followers FROM creator_scorecard").fetchall() != (
        before.execute("SELECT followers FROM creator_scorecard").fetchall()
    )
    con.close()
    before.close()
    assert content_checksum(swapped, PUBLISHED_TABLES) != today

    noisy = mutate(
        warehouse_copy(),  # a fresh copy of today's warehouse (replaces the swapped one)
        "UPDATE creator_scorecard SET engagement_rate = engagement_rate * (1 + 1e-15)",
        # and the rows stored in another order
        "CREATE TABLE shuffled AS SELECT * FROM creator_scorecard ORDER BY followers DESC",
        "DROP TABLE creator_scorecard",
        "ALTER TABLE shuffled RENAME TO creator_scorecard",
    )
    assert content_checksum(noisy, PUBLISHED_TABLES) == today


def test_failed_publish_leaves_previous_marts_byte_identical(
    clean_warehouses, warehouse_copy, tmp_path
):
    serving = tmp_path / "serving"
    publish(clean_warehouses["previous"], serving, PUBLISHED_TABLES)
    before = file_sha256(serving / "marts.duckdb")
    parquet_before = file_sha256(serving / "parquet" / "dim_creators.parquet")

    broken = mutate(warehouse_copy(), "DROP TABLE campaign_summary")
    with pytest.raises(PublishError, match="campaign_summary"):
        publish(broken, serving, PUBLISHED_TABLES)
    leaking = mutate(
        warehouse_copy(), "ALTER TABLE fct_post_performance ADD COLUMN comment_text VARCHAR"
    )
    with pytest.raises(PublishError, match=r"fct_post_performance has column 'comment_text'"):
        publish(leaking, serving, PUBLISHED_TABLES)

    assert file_sha256(serving / "marts.duckdb") == before
    assert file_sha256(serving / "parquet" / "dim_creators.parquet") == parquet_before
    assert [p.name for p in serving.rglob(".tmp-*")] == []


def test_stale_temp_files_from_a_crash_are_removed(clean_warehouses, tmp_path):
    serving = tmp_path / "serving"
    (serving / "parquet").mkdir(parents=True)
    crashed = [
        serving / ".tmp-999-dead-marts.duckdb",
        serving / "parquet" / ".tmp-999-dead-x.parquet",
    ]
    for path in crashed:
        path.write_bytes(b"half a file")

    publish(clean_warehouses["today"], serving, PUBLISHED_TABLES)

    assert not any(p.exists() for p in crashed)


def test_reader_holding_old_file_keeps_reading_it(clean_warehouses, tmp_path):
    serving = tmp_path / "serving"
    publish(clean_warehouses["previous"], serving, PUBLISHED_TABLES)
    reader = duckdb.connect(str(serving / "marts.duckdb"), read_only=True)
    try:
        publish(clean_warehouses["today"], serving, PUBLISHED_TABLES)
        old = reader.execute("SELECT max(as_of_date) FROM creator_scorecard").fetchone()[0]
        assert old == RUN_DATE - timedelta(days=1)
    finally:
        reader.close()
    fresh = duckdb.connect(str(serving / "marts.duckdb"), read_only=True)
    assert fresh.execute("SELECT max(as_of_date) FROM creator_scorecard").fetchone()[0] == RUN_DATE
    fresh.close()


READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    import duckdb, pyarrow.parquet as pq
    serving, stop, expected = Path(sys.argv[1]), Path(sys.argv[2]), set(sys.argv[3].split(","))
    seen, errors = [], []
    while not stop.exists():
        try:
            con = duckdb.connect(str(serving / "marts.duckdb"), read_only=True)
            try:
                tables = {r[0] for r in con.execute("SELECT table_name FROM duckdb_tables()").fetchall()}
                if tables != expected:
                    errors.append(f"tables {sorted(tables)}")
                as_of = con.execute("SELECT max(as_of_date)::VARCHAR FROM creator_scorecard").fetchone()[0]
                daily = con.execute("SELECT max(date)::VARCHAR FROM fct_creator_daily").fetchone()[0]
                if as_of != daily:
                    errors.append(f"mixed snapshot {as_of} vs {daily}")
                for t in expected:
                    con.execute(f'SELECT count(*) FROM "{t}"').fetchone()
                seen.append(as_of)
                (stop.parent / "reader-ready").touch()
            finally:
                con.close()
            pq.read_table(serving / "parquet" / "creator_scorecard.parquet")
        except Exception as exc:  # any error is a failure of atomic publishing
            errors.append(f"{type(exc).__name__}: {exc}")
    print(json.dumps({"seen": seen, "errors": errors}))
    """
)


def _wait_for(path: Path, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while not path.exists():
        assert proc.poll() is None, "the reader process died"
        assert time.monotonic() < deadline, "the reader process stopped reading"
        time.sleep(0.02)


def test_bi_reader_never_sees_a_broken_file_during_ten_publishes(clean_warehouses, tmp_path):
    serving = tmp_path / "serving"
    publish(clean_warehouses["previous"], serving, PUBLISHED_TABLES)
    stop = tmp_path / "stop"
    proc = subprocess.Popen(
        [sys.executable, "-c", READER, str(serving), str(stop), ",".join(PUBLISHED_TABLES)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        ready = tmp_path / "reader-ready"
        for i in range(10):
            _wait_for(ready, proc)  # the reader has read at least once since the last swap
            ready.unlink()
            publish(
                clean_warehouses["today" if i % 2 == 0 else "previous"], serving, PUBLISHED_TABLES
            )
        _wait_for(ready, proc)
    finally:
        stop.touch()
        out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    report = json.loads(out)
    assert report["errors"] == []
    assert len(report["seen"]) >= 11
    # The reader saw both versions: the swaps really happened under it.
    assert set(report["seen"]) == {RUN_DATE.isoformat(), (RUN_DATE - timedelta(days=1)).isoformat()}


# The storage version DuckDB 1.4 writes and reads (the number in the file header); DuckDB 2
# writes 999 when left to its own format, which every 1.x reader refuses.
DUCKDB_1_4_STORAGE_NUMBER = 67


def test_serving_file_is_in_a_storage_format_duckdb_1_readers_open(clean_warehouses, tmp_path):
    result = publish(clean_warehouses["today"], tmp_path / "serving", PUBLISHED_TABLES)

    header = result.path.read_bytes()[:64]
    assert header[8:12] == b"DUCK"
    assert int.from_bytes(header[12:20], "little") == DUCKDB_1_4_STORAGE_NUMBER
    con = duckdb.connect(str(result.path), read_only=True)
    try:
        (tags,) = con.execute(
            "SELECT tags FROM duckdb_databases() WHERE database_name = 'marts'"
        ).fetchone()
        assert tags["storage_version"].startswith("v1.4")
        assert con.execute("SELECT count(*) FROM creator_scorecard").fetchone()[0] == sum(
            len(p) for p in ACCOUNTS.values()
        )
    finally:
        con.close()
