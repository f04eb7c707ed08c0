"""The real DAGs, run by real Airflow (`airflow dags test`, SQLite) against the sandbox.

A tiny sandbox world on loopback ending yesterday (the latest complete day, which the run
policy extracts), a throwaway AIRFLOW_HOME and KOL_HOME: kol_extract for the midnight run
after the world's last day D, then kol_transform for D, then the published marts — the same
marts as a `kol run` of D gives.
"""

from __future__ import annotations

import gzip
import json
import subprocess
import sys
from datetime import timedelta
from pathlib import Path

import duckdb
import pytest
from table_parity import differences

from pipeline import config
from pipeline.policy import SOURCES, run_day, yesterday_utc
from pipeline.published import PUBLISHED_TABLES

pytestmark = pytest.mark.integration


WORLD_END = yesterday_utc()


@pytest.mark.timeout(900)
def test_daily_dags_publish_the_same_marts_as_a_cli_run_of_d(airflow_world, marts, tmp_path):
    w, d = airflow_world, airflow_world.end
    w.airflow("dags", "test", "kol_extract", f"{d + timedelta(days=1)}T00:00:00+00:00")

    events = w.landing_events()
    assert sorted(uri for uri, _ in events) == sorted(f"kol://landing/{s}" for s in SOURCES)
    assert {e["date"] for _, e in events} == {d.isoformat()}
    assert {e["source"]: e["status"] for _, e in events} == dict.fromkeys(SOURCES, "ok")

    w.airflow("dags", "test", "kol_transform", "--conf", json.dumps({"date": str(d)}))

    published = marts(w.kol_home)
    assert set(PUBLISHED_TABLES) <= set(published)
    with duckdb.connect(str(w.kol_home / "serving" / "marts.duckdb"), read_only=True) as con:
        creators = {r[0] for r in con.execute("select creator_id from dim_creators").fetchall()}
    assert creators == w.roster_creators()
    state = json.loads((w.kol_home / "state.json").read_text())
    assert state["published"]["run_date"] == d.isoformat()
    assert state["gate"]["passed"] is True

    cli = config.load({**w.kol_env, "KOL_HOME": str(tmp_path / "cli")}, env_file=None)
    assert run_day(cli, d).status == "published"
    # row for row, doubles to their 12th digit (tests/table_parity.py): DuckDB's threads sum
    # in a different order from one build to the next
    assert set(marts(tmp_path / "cli")) == set(published)
    serving = "serving/marts.duckdb"
    assert differences(w.kol_home / serving, tmp_path / "cli" / serving, sorted(published)) == {}


@pytest.mark.slow  # one more `airflow dags test` (~60 s): kept out of `make test`'s budget
@pytest.mark.timeout(600)
def test_a_platform_refused_by_its_api_fails_the_run_but_is_announced_without_its_token(
    airflow_world,
):
    """The Connection (set as AIRFLOW_CONN_KOL_TIKTOK) wins over the env: its token is wrong."""
    w, d = airflow_world, airflow_world.end
    bad = "not-the-sandbox-token-7f3a"
    tiktok = w.kol_env["KOL_TIKTOK_BASE_URL"].replace("http://", f"http://:{bad}@")
    env = {**w.env, "AIRFLOW_CONN_KOL_TIKTOK": tiktok}
    airflow = str(Path(sys.executable).parent / "airflow")
    run = subprocess.run(
        [airflow, "dags", "test", "kol_extract", f"{d + timedelta(days=1)}T00:00:00+00:00"],
        env=env,
        capture_output=True,
        text=True,
        timeout=400,
    )
    output = run.stdout + run.stderr  # `dags test` runs the tasks in-process: their logs
    assert run.returncode != 0 and "DagRun failed" in output

    # the landing assets' events of D (the module's first test may have published D too)
    events = {
        e["source"]: e
        for uri, e in w.landing_events()
        if uri.startswith("kol://landing/") and e["date"] == d.isoformat()
    }
    assert set(events) == set(SOURCES)
    assert events["tiktok"]["status"] == "failed"
    assert {s: e["status"] for s, e in events.items() if s != "tiktok"} == dict.fromkeys(
        set(SOURCES) - {"tiktok"}, "ok"
    )
    assert f"KOL kol_extract: step extract failed (platform tiktok, date {d}, try 1)" in output
    assert bad not in output
    landed = [
        p for p in w.kol_home.rglob("*") if p.is_file() and p.suffix in (".json", ".jsonl", ".gz")
    ]
    assert landed and not any(bad.encode() in _read(p) for p in landed)


def _read(path) -> bytes:
    data = path.read_bytes()
    return gzip.decompress(data) if path.suffix == ".gz" else data
