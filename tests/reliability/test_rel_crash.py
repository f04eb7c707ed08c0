"""kill -9 of a `kol run` during extract (the fast variant of the crash tests; the kills
during dbt, the gate and publish are in test_rel_runs.py, marked slow).

The run is slowed by the sandbox (`slow` fault: every answer 0.2 s late) and killed once its
raw pages are being written. Readers must then see exactly the files of the last complete
run: the same published marts (sha256), the same landed files byte for byte, each whole.
"""

from __future__ import annotations

import json
import os
import threading
import time
import uuid

import psutil
import pytest
from rel_harness import (
    D,
    KolWorld,
    Watched,
    check_landing_readable,
    check_serving_readable,
    file_sha256,
    run_kol,
    small_warehouse,
    visible_files,
)

from pipeline.publish import publish
from pipeline.published import PUBLISHED_TABLES

pytestmark = pytest.mark.integration


def test_kill_9_during_extract_keeps_the_last_good_state(tmp_path):
    home = tmp_path / "kol"
    world = KolWorld(tmp_path / "world", token=f"tok-crash-{uuid.uuid4().hex}").start()
    try:
        env = world.env(home)
        done = run_kol(env, "extract", "--platform", "tiktok", "--date", str(D), timeout=300)
        assert done.returncode == 0, done.stderr[-2000:]
        publish(small_warehouse(tmp_path / "wh.duckdb", 500), home / "serving", PUBLISHED_TABLES)
        serving_sha = file_sha256(home / "serving" / "marts.duckdb")
        landing = home / "landing"
        before = {p: p.read_bytes() for p in visible_files(landing)}
        assert any(p.suffix == ".parquet" for p in before)

        world.set_faults("slow=1,slow_seconds=0.2")
        run = Watched(env, "run", "--date", str(D), "--platform", "tiktok")
        run.wait_for(
            lambda: any(landing.glob("raw/platform=tiktok/endpoint=*/dt=*/run=*/.*.tmp")),
            timeout=120,
            what="raw pages being written",
        )
        run.wait_for(lambda: run.saw("tiktok:"), timeout=60, what="an account finished")
        run.kill_9()

        # readers see the last complete state, byte for byte
        assert file_sha256(home / "serving" / "marts.duckdb") == serving_sha
        check_serving_readable(home / "serving")
        assert {p: p.read_bytes() for p in visible_files(landing)} == before
        assert check_landing_readable(landing) == len(before)
        assert list(landing.rglob(".*.tmp"))  # the killed run left only hidden temporaries

        # the next run completes and replaces the date's files
        world.set_faults("")
        again = run_kol(env, "extract", "--platform", "tiktok", "--date", str(D), timeout=300)
        assert again.returncode == 0, again.stderr[-2000:]
    finally:
        world.stop()
    manifest = json.loads((landing / "manifests" / f"dt={D}" / "tiktok.json").read_text())
    assert manifest["status"] == "ok"
    runs = {p.name for p in landing.glob("raw/platform=tiktok/endpoint=*/dt=*/run=*")}
    assert runs == {f"run={manifest['run_id']}"}
    assert not list(landing.rglob(".*.tmp"))
    for folder in landing.glob("records/*/platform=tiktok/dt=*"):
        assert [p.name for p in folder.iterdir()] == ["part-0.parquet"]
    check_landing_readable(landing)


def _extract_children(pid: int) -> list[psutil.Process]:
    """The spawned per-platform extraction processes of `kol run` pid."""
    found = []
    try:
        kids = psutil.Process(pid).children()
    except psutil.NoSuchProcess:
        return []
    for kid in kids:
        try:
            if "spawn_main" in " ".join(kid.cmdline()):
                found.append(kid)
        except psutil.Error:  # ended (or a zombie) meanwhile
            continue
    return found


def test_kill_9_of_a_run_stops_its_extraction_processes_too(tmp_path):
    # Several platforms extract in their own processes: once the run is killed they must not
    # go on writing the date's files behind the released run lock (PR_SET_PDEATHSIG).
    home = tmp_path / "kol"
    world = KolWorld(tmp_path / "world", token=f"tok-crash-{uuid.uuid4().hex}").start()
    try:
        env = world.env(home, KOL_EXTRACT_PROCESSES="1")  # a tiny roster would use threads
        world.set_faults("slow=1,slow_seconds=0.2")
        run = Watched(env, "run", "--date", str(D), "--platform", "tiktok", "--platform", "x")
        run.wait_for(
            lambda: len(_extract_children(run.proc.pid)) == 2, timeout=120, what="two extracts"
        )
        children = _extract_children(run.proc.pid)
        landing = home / "landing"
        run.wait_for(
            lambda: any(landing.glob("raw/platform=*/endpoint=*/dt=*/run=*/.*.tmp")),
            timeout=120,
            what="raw pages being written",
        )
        run.kill_9()

        _, alive = psutil.wait_procs(children, timeout=15)
        assert not alive, f"extraction processes outlived the killed run: {alive}"
        before = {p: p.read_bytes() for p in visible_files(landing)}
        time.sleep(1.0)  # nothing is still writing
        assert {p: p.read_bytes() for p in visible_files(landing)} == before
        assert not list(landing.glob("manifests/dt=*/tiktok.json"))  # no run was committed
    finally:
        world.stop()


def test_a_platform_whose_process_dies_fails_alone(tmp_path, monkeypatch):
    from pipeline import config, steps

    home = tmp_path / "kol"
    world = KolWorld(tmp_path / "world", token=f"tok-crash-{uuid.uuid4().hex}").start()
    try:
        for k, v in world.env(home, KOL_EXTRACT_PROCESSES="1").items():
            if k.startswith("KOL_"):
                monkeypatch.setenv(k, v)
        settings = config.load(env_file=None)
        world.set_faults("slow=1,slow_seconds=0.2")
        killed: list[int] = []

        def kill_one_child() -> None:
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline and not killed:
                kids = _extract_children(os.getpid())
                if len(kids) == 2:
                    time.sleep(1.0)  # both are under way
                    kids[0].kill()
                    killed.append(kids[0].pid)
                time.sleep(0.05)

        killer = threading.Thread(target=kill_one_child, daemon=True)
        killer.start()
        world.server.set_clock(D)
        out = steps.extract_side_by_side(settings, D, ["tiktok", "x"], steps.new_run_id(D))
        killer.join(timeout=5)
    finally:
        world.stop()

    assert killed
    statuses = {p: m["status"] for p, m in out.items()}
    [dead] = [p for p, s in statuses.items() if s == "failed"]
    [alive] = [p for p in statuses if p != dead]
    assert f"the extract process of {dead} died (exit code -9)" in out[dead]["reason"]
    assert statuses[alive] in ("ok", "partial")
    assert (home / "landing" / "manifests" / f"dt={D}" / f"{alive}.json").is_file()
    assert not (home / "landing" / "manifests" / f"dt={D}" / f"{dead}.json").exists()
