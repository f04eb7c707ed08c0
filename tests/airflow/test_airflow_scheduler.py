"""Airflow as `make airflow` starts it (`airflow standalone`, in its own process group):
the REST API lists the DAGs behind a JWT, and a 3-day `airflow backfill create` of
kol_extract, with kol_transform following on the landing assets, publishes the same marts as
three daily runs of the CLI (`pipeline.policy.run_day`). The two older days are landed first
(a real platform cannot answer for them): the backfill re-derives them from their raw pages,
as the run policy says, and extracts the latest day.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import timedelta

import local_airflow as airflow_local
import pytest
import requests
from table_parity import differences

from pipeline import config, policy, state

pytestmark = [pytest.mark.integration, pytest.mark.slow]


ACTIVE = ("queued", "running")
# The world ends yesterday: unpausing kol_extract schedules today's midnight run (catchup=False
# runs the latest interval), which must be the backfill's last run, not a date outside the world.
WORLD_END = policy.yesterday_utc()


def wait_for(what: str, check: Callable[[], bool], timeout: float, every: float = 5) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        if time.monotonic() > deadline:
            raise AssertionError(f"{what}: not after {timeout:.0f}s")
        time.sleep(every)


@pytest.fixture(scope="module")
def running(airflow_world):
    w = airflow_world
    paused = {**w.kol_env, "AIRFLOW__CORE__DAGS_ARE_PAUSED_AT_CREATION": "True"}
    with (
        (w.airflow_home / "standalone.log").open("w") as out,
        airflow_local.start(
            w.kol_home, w.airflow_home, w.port, paused, output=out, prepare_db=False
        ) as af,
    ):
        yield af


def api_token(url: str, username: str, password: str) -> str:
    """A JWT from the simple auth manager, for `Authorization: Bearer` on /api/v2."""
    r = requests.post(
        f"{url}/auth/token", json={"username": username, "password": password}, timeout=10
    )
    r.raise_for_status()
    return r.json()["access_token"]


@pytest.fixture(scope="module")
def api(running):
    token = api_token(running.url, running.username, running.password)

    def call(path: str, method: str = "GET", body: dict | None = None) -> dict:
        r = requests.request(
            method,
            f"{running.url}/api/v2{path}",
            json=body,
            headers={"Authorization": f"Bearer {token}"},
            timeout=30,
        )
        r.raise_for_status()
        return r.json()

    return call


@pytest.mark.timeout(600)
def test_rest_api_lists_the_dags_only_with_a_token(running, api):
    assert requests.get(f"{running.url}/api/v2/dags", timeout=30).status_code == 401

    def listed() -> bool:
        return {d["dag_id"] for d in api("/dags")["dags"]} == {"kol_extract", "kol_transform"}

    wait_for("the dag-processor has parsed dags/", listed, timeout=300)
    assert all(d["is_paused"] for d in api("/dags")["dags"])  # this module's setting
    assert api("/dags/kol_transform", "PATCH", {"is_paused": False})["is_paused"] is False


@pytest.mark.timeout(1500)
def test_a_three_day_backfill_publishes_the_marts_of_three_daily_runs(
    airflow_world, running, api, marts, tmp_path
):
    w = airflow_world
    days = [w.end - timedelta(days=2), w.end - timedelta(days=1), w.end]
    settings = config.load({**w.kol_env, "KOL_HOME": str(w.kol_home)}, env_file=None)
    for d in days[:2]:  # landed when they were the latest day
        w.server.set_clock(d)
        policy.run_day(settings, d, today=d + timedelta(days=1), build=False)
    w.server.set_clock(w.end)
    wait_for("DAGs parsed", lambda: api("/dags")["total_entries"] == 2, timeout=300)
    api("/dags/kol_transform", "PATCH", {"is_paused": False})
    # Runs at D+1 00:00 process D; the last one is today's midnight, so the scheduler does
    # not add a run of its own once kol_extract is unpaused (backfills need it unpaused).
    w.airflow(
        "backfill", "create", "--dag-id", "kol_extract",
        "--from-date", str(days[0] + timedelta(days=1)),
        "--to-date", str(days[-1] + timedelta(days=1)),
        "--max-active-runs", "1",
    )  # fmt: skip
    api("/dags/kol_extract", "PATCH", {"is_paused": False})

    def settled() -> bool:
        ext = api("/dags/kol_extract/dagRuns")["dag_runs"]
        tra = api("/dags/kol_transform/dagRuns")["dag_runs"]
        done = len(ext) >= 3 and not any(r["state"] in ACTIVE for r in ext + tra)
        return (
            done
            and bool(tra)
            and state.read_state(settings).get("published", {}).get("run_date") == str(w.end)
        )

    wait_for("backfill + transform finished, marts as of the last day", settled, timeout=1200)
    ext = api("/dags/kol_extract/dagRuns")["dag_runs"]
    assert sorted(r["state"] for r in ext) == ["success"] * 3
    assert all(r["run_type"] == "backfill" for r in ext)
    assert {r["state"] for r in api("/dags/kol_transform/dagRuns")["dag_runs"]} == {"success"}

    ref = config.load({**w.kol_env, "KOL_HOME": str(tmp_path / "daily")}, env_file=None)
    for d in days:
        w.server.set_clock(d)
        assert policy.run_day(ref, d, today=d + timedelta(days=1)).status == "published"
    assert set(marts(tmp_path / "daily")) == set(published := marts(w.kol_home))
    serving = "serving/marts.duckdb"  # row for row, doubles to their 12th digit
    assert differences(w.kol_home / serving, tmp_path / "daily" / serving, sorted(published)) == {}
