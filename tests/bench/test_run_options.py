"""The harness's command line: the default measured day and one bench per work folder."""

from __future__ import annotations

import json
from datetime import UTC, datetime

from bench import run
from pipeline.runlock import run_lock


class _Later(datetime):
    """A clock three years on: a default derived from today would move with it."""

    @classmethod
    def now(cls, tz=None):
        return datetime(2029, 12, 31, 12, tzinfo=tz or UTC)


def test_the_default_day_is_fixed_so_a_kept_setup_still_matches_tomorrow(tmp_path, monkeypatch):
    monkeypatch.setattr(run, "datetime", _Later)
    parsed = run.build_parser().parse_args(["--workdir", str(tmp_path)])
    assert run.options(parsed).run_date == run.BENCH_DAY
    given = run.build_parser().parse_args(["--workdir", str(tmp_path), "--date", "2026-01-02"])
    assert run.options(given).run_date.isoformat() == "2026-01-02"


def test_a_second_bench_on_the_same_folder_is_refused_and_touches_nothing(tmp_path, capsys):
    work = tmp_path / "kept"
    work.mkdir()
    setup = work / run.SETUP_FILE
    setup.write_text(json.dumps({"key": {"size": "small"}}))
    before = setup.read_bytes()
    with run_lock(work, "bench small"):
        code = run.main(["--size", "tiny", "--workdir", str(work), "--reuse"])
    err = capsys.readouterr().err
    assert code == 2
    assert f"{work} is in use by pid" in err and "(bench small, since" in err
    assert "BENCH_DIR=DIR" in err
    assert setup.read_bytes() == before
    assert sorted(p.name for p in work.iterdir()) == [".run.lock", run.SETUP_FILE]


def _bench_with_seed_day(tmp_path, histories, mb_per_day):
    """A bench whose seed day (D-1) landed `mb_per_day` MB of API records and one export."""
    from datetime import timedelta

    opts = run.Options(
        size=run.SIZES["tiny"],
        reps=1,
        histories=histories,
        run_date=run.BENCH_DAY,
        seed=42,
        workdir=tmp_path,
        results_dir=tmp_path / "results",
    )
    d1 = (run.BENCH_DAY - timedelta(days=1)).isoformat()
    base = tmp_path / "base"
    posts = base / f"landing/records/posts/platform=x/dt={d1}/part-seed.parquet"
    posts.parent.mkdir(parents=True)
    posts.write_bytes(b"\0" * int(mb_per_day * run.MB))
    brands = base / f"landing/records/brands/dt={d1}/part-seed.parquet"  # linked, not copied
    brands.parent.mkdir(parents=True)
    brands.write_bytes(b"\0" * int(50 * run.MB))
    return run.Bench(opts), base


def test_histories_the_disk_cannot_hold_are_refused_before_anything_is_copied(
    tmp_path, monkeypatch
):
    import shutil

    import pytest

    bench, base = _bench_with_seed_day(tmp_path, [30, 365], mb_per_day=100)
    # 29 + 364 copied days of 100 MB; the 365-day history compacted as it is copied: 97 days
    # (35 + 62) stay in day files, 267 in month files at a quarter of their bytes: 29 + 97 +
    # 66.75 = 192.75 days, 18.8 GB of landing, ~37.6 GB with the warehouses
    free = shutil.disk_usage(tmp_path)._replace(free=30 * run.GB)
    monkeypatch.setattr(run.shutil, "disk_usage", lambda path: free)
    with pytest.raises(run.StageFailed) as refused:
        bench.check_disk(base, [30, 365])
    msg = str(refused.value)
    assert "need about 37.6 GB" in msg and "18.8 GB of copied landing" in msg
    assert "30.0 GB is free" in msg and "--history 30" in msg and "BENCH_DIR=DIR" in msg
    assert sorted(p.name for p in tmp_path.iterdir()) == ["base"]  # nothing copied

    thirty, base30 = _bench_with_seed_day(tmp_path / "thirty", [30], mb_per_day=100)
    thirty.check_disk(base30, [30])  # 5.7 GB: fits
    bench.check_disk(base, [30])  # a kept setup adding nothing but 30 days: fits too


def test_a_landing_copied_by_an_earlier_run_counts_only_its_builds_against_the_disk(
    tmp_path, monkeypatch
):
    import json

    import pytest

    bench, base = _bench_with_seed_day(tmp_path, [30, 365], mb_per_day=100)
    from dataclasses import replace

    bench.opts = replace(bench.opts, reuse=True)  # only --reuse keeps a copied landing
    bench.setup["world"] = {"creators": 10}
    home = bench.run_home(365)
    home.mkdir()
    marker = {"landing": bench.landing_key(365), "history": 365, "source_day": "2026-11-24"}
    (home / run.LANDED_MARKER).write_text(json.dumps(marker))
    # 365's 163.75 days of landing (16.0 GB) are on disk already: 37.6 - 16.0 = 21.7 GB
    free = shutil_usage(tmp_path, free=20 * run.GB)
    monkeypatch.setattr(run.shutil, "disk_usage", lambda path: free)
    with pytest.raises(run.StageFailed, match=r"need about 21\.7 GB"):
        bench.check_disk(base, [30, 365])
    roomier = shutil_usage(tmp_path, free=22 * run.GB)
    monkeypatch.setattr(run.shutil, "disk_usage", lambda path: roomier)
    bench.check_disk(base, [30, 365])


def shutil_usage(path, free: int):
    import shutil

    return shutil.disk_usage(path)._replace(free=free)


def test_each_size_keeps_one_result_file_naming_the_commit_measured(tmp_path):
    first = run.write_result({"size": "small", "started_at": "2026-11-25T10:00:00+00:00"}, tmp_path)
    later = {"size": "small", "started_at": "2026-11-27T10:00:00+00:00", "reps": 3}
    second = run.write_result(later, tmp_path)
    run.write_result({"size": "agency", "started_at": "2026-11-27T11:00:00+00:00"}, tmp_path)
    assert first == second == tmp_path / "small.json"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["agency.json", "small.json"]
    kept = json.loads(second.read_text())
    assert kept["started_at"].startswith("2026-11-27") and kept["reps"] == 3
    assert kept["commit"] == run.code_version() != ""


def test_the_committed_results_are_one_file_per_size():
    names = sorted(p.name for p in run.RESULTS_DIR.glob("*.json"))
    sizes = [n for n in names if n != "latency.json"]  # latency: bench.latency
    assert "latency.json" in names and {"agency.json", "small.json"} <= set(sizes)
    for name in sizes:
        assert name.removesuffix(".json") in run.SIZES, name
        result = json.loads((run.RESULTS_DIR / name).read_text())
        assert result["size"] == name.removesuffix(".json") and result["commit"]


def test_the_spark_stage_needs_java_and_a_history_of_day_folders(tmp_path, capsys, monkeypatch):
    assert not any("transform_spark" in size.stages for size in run.SIZES.values())
    spark = run.build_parser().parse_args(["--workdir", str(tmp_path / "w"), "--spark"])
    assert run.options(spark).stages == frozenset(run.SIZES["small"].stages) | {"transform_spark"}
    assert run._stages("transform_spark") == {"transform_spark", "transform"}
    assert run.spark_refusal([30, 365], "/usr/bin/java") is None
    assert "Java runtime" in run.spark_refusal([30], None)
    assert "at most 35 days" in run.spark_refusal([60, 365], "/usr/bin/java")
    # asked for by name without Java: refused before any work
    monkeypatch.setattr(run.shutil, "which", lambda name: None)
    work = tmp_path / "work"
    argv = ["--size", "tiny", "--workdir", str(work), "--stages", "transform_spark"]
    assert run.main(argv) == 2
    assert "needs a Java runtime" in capsys.readouterr().err
    assert list(work.iterdir()) == []
    assert run.main(["--size", "tiny", "--workdir", str(work), "--spark"]) == 2


def test_a_baseline_that_is_no_commit_is_refused_before_any_work(tmp_path, capsys):
    work = tmp_path / "work"
    argv = ["--size", "tiny", "--workdir", str(work), "--baseline", "no-such-ref-7f3a"]
    assert run.main(argv) == 2
    assert "--baseline no-such-ref-7f3a is not a commit" in capsys.readouterr().err
    assert list(work.iterdir()) == []


def test_the_commit_measured_ignores_the_harness_own_result_files(tmp_path, monkeypatch):
    import subprocess

    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    (tmp_path / "bench" / "results").mkdir(parents=True)
    (tmp_path / "code.py").write_text("x = 1\n")
    (tmp_path / "bench" / "results" / "small.json").write_text("{}\n")
    git("init", "-q")
    git("add", "-A")
    git("-c", "user.name=t", "-c", "user.email=t@t", "commit", "-qm", "c")
    monkeypatch.setattr(run, "REPO", tmp_path)
    clean = run.code_version()
    assert "+" not in clean and clean != "unknown"
    (tmp_path / "bench" / "results" / "small.json").write_text('{"partial": true}\n')
    assert run.code_version() == clean  # a partial result written by the run itself
    (tmp_path / "code.py").write_text("x = 2\n")
    assert run.code_version() == clean + "+changes"


def test_the_histories_builds_alternate_their_order_between_repetitions():
    """A B, B A, A B: drift of the machine over a run weighs on both sides of a ratio."""
    assert run.transform_order(1, 365, [30, 365]) == [365, 30]
    assert run.transform_order(2, 365, [30, 365]) == [30, 365]
    assert run.transform_order(3, 365, [30, 365]) == [365, 30]
    assert run.transform_order(2, 6, [3, 6]) == [3, 6]
    assert run.transform_order(0, 365, [365]) == [365]  # profiling: the primary alone


def test_a_finished_run_removes_its_run_homes_and_keeps_the_setup(tmp_path):
    """With --workdir alone the run homes (a warehouse copy each) go once the result is
    written; the seed day, snapshots, setup file and logs a later --reuse reads stay."""
    bench, _ = _bench_with_seed_day(tmp_path, [30, 365], mb_per_day=0)
    scratch = ["run-h30", "run-h365", "run-spark-h365", "run-baseline"]
    kept = ["base", "logs", "snap-h30", "snap-h365", "snap-spark-h365"]
    for name in scratch + kept:
        (tmp_path / name / "landing").mkdir(parents=True, exist_ok=True)
        (tmp_path / name / "warehouse.duckdb").write_bytes(b"\0")
    (tmp_path / run.SETUP_FILE).write_text("{}")
    assert bench.remove_run_homes() == sorted(scratch)
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([*kept, run.SETUP_FILE])
    assert bench.remove_run_homes() == []  # nothing left to remove


def test_keep_alone_keeps_the_run_homes(tmp_path):
    parse = run.build_parser().parse_args
    workdir_only = run.options(parse(["--workdir", str(tmp_path)]))
    assert workdir_only.keep and not workdir_only.keep_runs
    kept = run.options(parse(["--workdir", str(tmp_path), "--keep"]))
    assert kept.keep and kept.keep_runs
