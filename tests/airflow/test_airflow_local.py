"""`make airflow`'s launcher: the environment it gives Airflow and how it stops it."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import local_airflow as airflow_local


def test_airflow_env_points_at_this_repos_dags_with_a_throwaway_home(tmp_path):
    env = airflow_local.airflow_env(tmp_path / "af", tmp_path / "kol", 8111, {"KOL_X_TOKEN": "t"})
    assert env["AIRFLOW_HOME"] == str(tmp_path / "af")
    assert env["AIRFLOW__CORE__DAGS_FOLDER"] == str(airflow_local.REPO / "dags")
    assert env["AIRFLOW__CORE__LOAD_EXAMPLES"] == "False"
    assert int(env["AIRFLOW__CORE__PARALLELISM"]) <= 4
    assert env["AIRFLOW__API__PORT"] == "8111"
    assert env["KOL_HOME"] == str(tmp_path / "kol") and env["KOL_X_TOKEN"] == "t"
    assert env["PATH"].split(os.pathsep)[0] == os.path.dirname(sys.executable)


def test_sandbox_env_gives_every_platform_a_token():
    server_env = {"KOL_X_BASE_URL": "http://127.0.0.1:1/x", "KOL_INSTAGRAM_USER_ID": "1"}
    env = airflow_local.sandbox_env(server_env, "sandbox")
    assert env["KOL_X_BASE_URL"] == "http://127.0.0.1:1/x" and env["KOL_INSTAGRAM_USER_ID"] == "1"
    assert {k for k in env if k.endswith("_TOKEN")} == {
        f"KOL_{p}_TOKEN" for p in ("INSTAGRAM", "FACEBOOK", "TIKTOK", "YOUTUBE", "X")
    }


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    with open(f"/proc/{pid}/stat") as fh:  # a zombie has exited already
        return fh.read().split()[2] != "Z"


def test_stop_group_stops_children_even_in_their_own_session(tmp_path):
    """Like Airflow's task supervisors: `setsid` puts the child outside the group."""
    pids = tmp_path / "pids"
    proc = subprocess.Popen(
        ["sh", "-c", f"setsid sleep 300 & echo $! > {pids}; wait"], start_new_session=True
    )
    deadline = time.monotonic() + 10
    while not pids.exists() or not pids.read_text().strip():
        assert time.monotonic() < deadline, "the child did not start"
        time.sleep(0.05)
    child = int(pids.read_text())
    airflow_local.stop_group(proc, grace=10)
    assert proc.returncode is not None
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)
