"""The `kol` command line: verbs listed, bad settings and arguments exit non-zero with a reason."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from pipeline import cli

KOL = [sys.executable, "-m", "pipeline.cli"]
VERBS = [
    "demo",
    "run",
    "backfill",
    "extract",
    "reparse",
    "transform",
    "gate",
    "publish",
    "accept",
    "plan",
    "status",
    "sandbox",
]


def test_help_lists_every_verb():
    out = subprocess.run([*KOL, "--help"], capture_output=True, text=True, check=True).stdout
    for verb in VERBS:
        assert f"    {verb}" in out


def test_missing_roster_exits_2_naming_the_file(kol_home, monkeypatch, capsys, tmp_path):
    monkeypatch.setenv("KOL_ROSTER", str(tmp_path / "missing.csv"))
    assert cli.main(["--env-file", "", "status"]) == cli.EXIT_CONFIG
    err = capsys.readouterr().err
    assert "configuration error" in err and "missing.csv" in err


def test_a_bad_date_is_a_usage_error(kol_home, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--date", "2026-13-40"])
    assert exc.value.code == 2
    assert "not a date; use YYYY-MM-DD" in capsys.readouterr().err


def test_publish_without_a_gated_build_refuses(kol_home, capsys):
    assert cli.main(["--env-file", "", "publish"]) == cli.EXIT_STEP
    assert "nothing to publish" in capsys.readouterr().err
    assert not (Path(kol_home) / "serving").exists()


def test_accept_of_a_date_never_gated_refuses(kol_home, capsys):
    assert cli.main(["--env-file", "", "accept", "--date", "2026-01-02"]) == cli.EXIT_STEP
    assert "no gate verdict for 2026-01-02" in capsys.readouterr().err


def test_extract_takes_several_platforms_or_all_five():
    parser = cli.build_parser()
    assert parser.parse_args(["extract", "--date", "2026-11-25"]).platform is None  # all five
    two = parser.parse_args(["extract", "--platform", "x", "--platform", "tiktok"])
    assert two.platform == ["x", "tiktok"]
    with pytest.raises(SystemExit):
        parser.parse_args(["extract", "--platform", "myspace"])
