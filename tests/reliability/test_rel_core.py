"""The core guarantees, small enough for every `make test`: a date run twice gives identical
marts; a kill -9 mid-run (in dbt, in publish) leaves the published marts intact and
readable; no token reaches a file under KOL_HOME or the output. One 6-creator world, one
home, three runs of the same date (the slow suite, test_rel_runs.py, kills at every stage
and checks the cleanup run too).
"""

from __future__ import annotations

import uuid
from pathlib import Path
from typing import Any

import pytest
from rel_harness import (
    REPO,
    D,
    KolWorld,
    Watched,
    check_landing_readable,
    check_serving_readable,
    children_of,
    file_sha256,
    full_run,
    ledger_rows,
    marts_fingerprint,
    read_all_bytes,
    wait_for_orphans_to_exit,
)

pytestmark = pytest.mark.integration

PAUSE_HOOK = Path(__file__).resolve().parent / "pause_hook"


@pytest.fixture(scope="module")
def world(tmp_path_factory):
    w = KolWorld(tmp_path_factory.mktemp("core-world"), token=f"tok-core-{uuid.uuid4().hex}")
    w.start()
    yield w
    w.stop()


@pytest.fixture(scope="module")
def published(world, tmp_path_factory) -> dict[str, Any]:
    home = tmp_path_factory.mktemp("core") / "kol"
    first = full_run(world, home, D)
    assert first["returncode"] == 0, first["stderr"][-4000:]
    db = home / "serving" / "marts.duckdb"
    return {"home": home, "runs": [first], "fingerprint": marts_fingerprint(db)}


def test_same_date_twice_gives_identical_marts(world, published):
    home = published["home"]
    again = full_run(world, home, D)
    published["runs"].append(again)
    assert again["returncode"] == 0, again["stderr"][-3000:]
    assert marts_fingerprint(home / "serving" / "marts.duckdb") == published["fingerprint"]
    rows = ledger_rows(home)
    assert [r.status for r in rows] == ["published", "published"]
    assert rows[-1].mart_rows == rows[-2].mart_rows


def test_kill_9_in_dbt_and_in_publish_leaves_the_published_marts_intact(world, published):
    home = published["home"]
    db = home / "serving" / "marts.duckdb"
    before = file_sha256(db)
    env = world.env(home)

    run = Watched(env, "run", "--date", str(D))
    run.wait_for(
        lambda: (
            sum("OK created" in line for line in run.lines) >= 20
            and any("dbt" in cmd for _, cmd in children_of(run.proc.pid))
        ),
        timeout=600,
        what="dbt building models",
    )
    dbt = [pid for pid, cmd in children_of(run.proc.pid) if "dbt" in cmd]
    run.kill_9()
    assert not wait_for_orphans_to_exit(dbt), "an orphaned dbt still writes the warehouse"
    assert file_sha256(db) == before
    check_serving_readable(home / "serving")
    assert check_landing_readable(home / "landing") > 0

    marker = home.parent / "paused-in-publish"
    run = Watched(
        {**env, "KOL_TEST_PAUSE_PUBLISH": str(marker), "PYTHONPATH": f"{PAUSE_HOOK}:{REPO}"},
        "run",
        "--date",
        str(D),
    )
    run.wait_for(marker.exists, timeout=900, what="publish swapping its first file")
    run.kill_9()
    assert file_sha256(db) == before
    check_serving_readable(home / "serving")
    assert marts_fingerprint(db) == published["fingerprint"]


def test_no_token_anywhere_under_kol_home_or_in_the_output(world, published):
    token, files = world.token.encode(), 0
    for path, data in read_all_bytes(published["home"]):  # gzip'd raw pages read unpacked
        assert token not in data, path
        files += 1
    assert files > 100
    for run in published["runs"]:
        assert world.token not in run["stdout"] + run["stderr"]
