"""kill -9 of a `kol run` during extract (the fast variant of the crash tests; the kills
during dbt, the gate and publish are in test_rel_runs.py, marked slow).

The run is slowed by the sandbox (`slow` fault: every answer 0.2 s late) and killed once its
raw pages are being written. Readers must then see exactly the files of the last complete
run: the same published marts (sha256), the same landed files byte for byte, each whole.
"""

from __future__ import annotations

import json
import uuid

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
        assert [p.name for p in folder.iterdir()] == [f"part-{manifest['run_id']}.parquet"]
    check_landing_readable(landing)
