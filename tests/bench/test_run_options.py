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
