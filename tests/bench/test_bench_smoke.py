"""Smoke test of the benchmark harness: a tiny world, one repetition, real `kol` processes.

It checks that the harness measures what it says: the records it reports are the ones the
manifests and Parquet files hold, the history it fabricates is landed where dbt reads it,
and the ratios are computed from the medians it reports.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from datetime import date, timedelta
from pathlib import Path

import pyarrow.parquet as pq
import pytest

ROOT = Path(__file__).resolve().parents[2]
DAY = date(2026, 11, 20)  # a fixed measured day: the world and the numbers do not move
HISTORY = 3
# Within the 60 s budget: two platforms, and no dbt/GX stage (one `dbt build` alone takes
# longer). The dbt stages go through the same `Bench.run` path, checked at every `make bench`.
PLATFORMS = ("youtube", "x")
SMOKE_STAGES = "reparse,duckdb_scan"


def _bench_run(options: list[str], work: Path, results: Path):
    """`python -m bench.run --size tiny` on the smoke day and platforms: (process, result)."""
    cmd = [sys.executable, "-m", "bench.run", "--size", "tiny", "--date", DAY.isoformat()]
    cmd += ["--platforms", ",".join(PLATFORMS), "--workdir", str(work)]
    cmd += ["--results-dir", str(results), *options]
    env = {k: v for k, v in os.environ.items() if not k.startswith("KOL_")}
    proc = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=170)
    files = list(results.glob("tiny.json"))
    return proc, json.loads(files[0].read_text()) if files else None


@pytest.fixture(scope="session")
def smoke(tmp_path_factory):
    """Run the harness once for the whole module: (exit code, stdout, result JSON, workdir)."""
    base = tmp_path_factory.mktemp("bench")
    work, results = base / "work", base / "results"
    # --keep: the tests below read the run homes, which a run with --workdir alone removes
    options = ["--reps", "1", "--history", str(HISTORY), "--stages", SMOKE_STAGES, "--keep"]
    # this commit's code as the "before": the harness's path, not a figure
    options += ["--baseline", "HEAD"]
    proc, result = _bench_run(options, work, results)
    return proc, result, work


def _run_home(work: Path) -> Path:
    return work / f"run-h{HISTORY}"


def _landed(landing: Path, day: date) -> int:
    total = 0
    for p in PLATFORMS:
        m = json.loads((landing / "manifests" / f"dt={day}" / f"{p}.json").read_text())
        total += sum(e.get("landed", 0) for e in m["entities"].values())
    return total


@pytest.mark.integration
def test_the_harness_runs_and_prints_the_table(smoke):
    proc, result, _ = smoke
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert result is not None
    assert "| stage | median s | min–max s |" in proc.stdout
    assert set(result["stages"]) == {
        "extract_land",
        "exports",
        "reparse",
        "duckdb_scan",
        "extract_land@baseline",
        "reparse@baseline",
    }
    # calls per account-day against the documented minimum, per platform (bench/calls.py)
    assert "| platform | accounts | calls / account-day | documented minimum |" in proc.stdout
    assert set(result["calls"]) == set(PLATFORMS)
    for platform, f in result["calls"].items():
        assert 1.0 <= f["calls_ratio"] <= 1.15, (platform, f)
    assert set(result["stages"]["extract_land"]["samples"][0]["by_platform"]) == set(PLATFORMS)
    for key, st in result["stages"].items():
        assert st["seconds"]["median"] > 0, key
        assert st["peak_rss_mb"] > 10, key  # a Python process holds more than 10 MB


@pytest.mark.integration
def test_world_size_is_the_rosters(smoke):
    _, result, work = smoke
    rows = (work / "world" / "roster.csv").read_text().strip().splitlines()[1:]
    assert result["world"]["accounts"] == len(rows)
    assert result["world"]["creators"] == 10
    assert sum(result["world"]["accounts_by_platform"].values()) == len(rows)


@pytest.mark.integration
def test_reported_records_are_what_the_manifests_say_was_landed(smoke):
    _, result, work = smoke
    landing = _run_home(work) / "landing"
    landed = _landed(landing, DAY)
    assert landed > 0
    (extract,) = result["stages"]["extract_land"]["samples"]
    assert extract["records"] == landed
    assert extract["records_per_s"] == pytest.approx(landed / extract["seconds"], rel=1e-3)
    (reparse,) = result["stages"]["reparse"]["samples"]
    assert reparse["records"] == landed  # same pages, same records


@pytest.mark.integration
def test_the_scan_reads_every_landed_row_of_the_day(smoke):
    _, result, work = smoke
    files = (_run_home(work) / "landing" / "records").rglob(f"dt={DAY}/*.parquet")
    rows = sum(pq.ParquetFile(f).metadata.num_rows for f in files)
    (scan,) = result["stages"]["duckdb_scan"]["samples"]
    assert scan["records"] == rows > 0


@pytest.mark.integration
def test_history_days_are_landed_before_the_measured_day(smoke):
    _, result, work = smoke
    landing = _run_home(work) / "landing"
    copied = DAY - timedelta(days=3)
    posts = list(landing.glob(f"records/posts/platform=*/dt={copied}/*.parquet"))
    assert posts, "the copied day has no posts"
    snap = {d for f in posts for d in pq.read_table(f, columns=["snapshot_date"])[0].to_pylist()}
    assert snap == {copied}
    assert result["setup"][f"history_{HISTORY}"]["copied_days"] == HISTORY - 1  # all but D-1
    assert result["setup"]["seed_day"]["first_sight_accounts"] == 0  # D-1 was steady state


@pytest.mark.integration
def test_ratios_are_the_quotients_of_the_reported_medians(smoke):
    _, result, _ = smoke
    st, r = result["stages"], result["ratios"]
    assert r["transform_vs_scan"] is None  # no transform was asked for
    rate = st["extract_land"]["records_per_s"]["median"] / st["reparse"]["records_per_s"]["median"]
    assert r["extract_vs_parse_rate"] == pytest.approx(rate)
    assert r["incremental_long_vs_short_history"] is None  # one history only
    before = (
        st["extract_land@baseline"]["records_per_s"]["median"]
        / st["reparse@baseline"]["records_per_s"]["median"]
    )
    assert r["extract_vs_parse_rate_baseline"] == pytest.approx(before)
    seconds = (
        st["extract_land@baseline"]["seconds"]["median"] / st["extract_land"]["seconds"]["median"]
    )
    assert r["extract_seconds_baseline_vs_now"] == pytest.approx(seconds)


@pytest.mark.integration
def test_the_baseline_runs_the_commit_asked_for_in_its_own_home(smoke):
    _, result, work = smoke
    head = subprocess.run(
        ["git", "rev-parse", "HEAD"], cwd=ROOT, capture_output=True, text=True, check=True
    )
    assert result["baseline"] == head.stdout.strip()
    tree = work / f"baseline-{result['baseline'][:12]}"
    assert (tree / "pipeline" / "cli.py").read_bytes() == (
        ROOT / "pipeline" / "cli.py"
    ).read_bytes()
    # its records are those its own manifests hold, landed apart from the measured home's
    home = work / "run-baseline" / "landing"
    (sample,) = result["stages"]["extract_land@baseline"]["samples"]
    assert sample["records"] == _landed(home, DAY) > 0


@pytest.fixture(scope="session")
def extended(smoke):
    """The smoke run's setup reused with one more history, two repetitions, D extracted once:
    (exit code, result JSON, workdir). Runs after the tests that read the smoke run's files."""
    _, _, work = smoke
    options = ["--reps", "2", "--history", f"{HISTORY},{LONGER}", "--stages", "reparse"]
    options += ["--reuse", "--extract-once", "--keep"]
    proc, result = _bench_run(options, work, work.parent / "results-extended")
    return proc, result, work


LONGER = 5


@pytest.mark.integration
def test_a_kept_setup_gets_only_the_missing_history_and_d_is_extracted_once(extended):
    proc, result, work = extended
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"histories [{HISTORY}] from" in proc.stderr  # the kept one is not copied again
    setup = result["setup"]
    assert setup["history_3"]["copied_days"] == HISTORY - 1
    assert setup[f"history_{LONGER}"]["copied_days"] == LONGER - 1  # built from the seed day
    saved = json.loads((work / "setup.json").read_text())
    assert saved["key"]["histories"] == [HISTORY, LONGER]
    # one extract, two reparses: the second repetition reparses the pages the first landed
    (extract,) = result["stages"]["extract_land"]["samples"]
    first, second = result["stages"]["reparse"]["samples"]
    home = work / f"run-h{LONGER}" / "landing"  # the longest history is the measured one
    assert extract["records"] == first["records"] == second["records"] == _landed(home, DAY) > 0
    oldest = DAY - timedelta(days=LONGER)
    assert list(home.glob(f"records/posts/platform=*/dt={oldest}/*.parquet"))
