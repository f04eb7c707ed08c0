"""The walking skeleton, end to end: sandbox -> extract -> landing -> dbt -> gate -> publish.

Real subprocesses of `kol`, real dbt, real Great Expectations, real DuckDB. The second test
is the promise auditors care most about: a broken source fails the gate and BI keeps
reading the last good marts, byte for byte.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta

import duckdb
import pytest

from pipeline.published import PUBLISHED_TABLES
from sandbox import FaultConfig

pytestmark = pytest.mark.integration
END = date(2026, 3, 31)  # the e2e_world fixture's last day
D = END - timedelta(days=1)


def _sha(path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_kol_run_publishes_every_mart_as_of_the_run_date(e2e_world):
    assert e2e_world.end == END
    e2e_world.server.set_clock(D)
    r = e2e_world.kol("run", "--date", D.isoformat())
    assert r.returncode == 0, r.stderr[-3000:]
    assert f"{D}:" in r.stdout and ("published" in r.stdout or "partial" in r.stdout)

    db = e2e_world.home / "serving" / "marts.duckdb"
    con = duckdb.connect(str(db), read_only=True)
    try:
        tables = {
            t for (t,) in con.execute("select table_name from information_schema.tables").fetchall()
        }
        assert tables == set(PUBLISHED_TABLES)
        rows = con.execute(
            "select platform, count(*), min(as_of_date), max(as_of_date), "
            "count(*) filter (where tier is null) from creator_scorecard group by platform"
        ).fetchall()
    finally:
        con.close()
    assert {r[0] for r in rows} == {"instagram", "facebook", "tiktok", "youtube", "x"}
    for platform, n, lo, hi, no_tier in rows:
        assert n > 0 and lo == hi == D and no_tier == 0, platform
    for t in PUBLISHED_TABLES:
        assert (e2e_world.home / "serving" / "parquet" / f"{t}.parquet").is_file()

    status = e2e_world.kol("status")
    assert status.returncode == 0 and str(D) in status.stdout

    # The credential appears nowhere on disk (gz raw pages included) and in no output.
    import gzip

    for f in e2e_world.home.rglob("*"):
        if f.is_file():
            data = f.read_bytes()
            if f.suffix == ".gz":
                data = gzip.decompress(data)
            assert e2e_world.token.encode() not in data, f
    assert e2e_world.token not in r.stdout + r.stderr


def test_glitch_day_fails_the_gate_and_leaves_published_marts_untouched(e2e_world):
    db = e2e_world.home / "serving" / "marts.duckdb"
    before = _sha(db)
    e2e_world.server.set_clock(END)
    e2e_world.server.set_faults(FaultConfig.parse("glitch"))
    try:
        r = e2e_world.kol("run", "--date", END.isoformat())
    finally:
        e2e_world.server.set_faults(None)
    assert r.returncode == 4, r.stderr[-3000:]
    assert "quality gate failed" in r.stderr and "follower" in r.stderr.lower()
    assert _sha(db) == before

    status = e2e_world.kol("status")
    assert "gate_failed" in status.stdout
    assert "rejected days left out of builds: " + str(END) in status.stdout
