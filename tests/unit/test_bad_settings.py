"""Bad settings and arguments are refused with exit 2 before any work: nothing is written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from ingestion.platforms import get_platform
from ingestion.roster import RosterEntry
from pipeline import cli, config
from pipeline.runlock import run_lock

BAD_SETTINGS = [
    ("KOL_EXTRACT_WORKERS", "abc", "expected a whole number from 1 to 64"),
    ("KOL_EXTRACT_WORKERS", "0", "expected a whole number from 1 to 64"),
    ("KOL_MAX_PAGES_PER_ACCOUNT", "-5", "expected a whole number from 1 to 1000000"),
    ("KOL_HTTP_DEADLINE_SECONDS", "nan", "expected a number from 1 to 3600"),
    ("KOL_HTTP_MAX_BODY_MB", "1e9", "expected a whole number from 1 to 1024"),
    ("KOL_DUCKDB_THREADS", "two", "expected a whole number from 1 to 1024"),
    ("KOL_DUCKDB_MEMORY_LIMIT", "lots", "expected a size such as 2500MB"),
    ("KOL_SENTIMENT_WORKERS", "-1", "expected a whole number from 0 to 64"),
    ("KOL_DBT_UNIT_TESTS", "true", "expected one of '0', '1'"),
    ("KOL_ENGINE", "Spark", "expected one of 'duckdb', 'spark'"),
]


@pytest.mark.parametrize(("name", "value", "expected"), BAD_SETTINGS)
def test_a_bad_setting_exits_2_naming_it_before_any_work(
    name, value, expected, kol_home, monkeypatch, capsys
):
    monkeypatch.setenv(name, value)
    assert cli.main(["--env-file", "", "run", "--date", "2026-11-20"]) == cli.EXIT_CONFIG
    err = capsys.readouterr().err
    assert f"{name}={value!r}: {expected}" in err
    assert not Path(kol_home).exists()  # no lock, no landing, no ledger


def test_good_values_of_every_setting_are_accepted(tmp_path):
    env = {
        "KOL_HOME": str(tmp_path / "home"),
        "KOL_EXTRACT_WORKERS": "8",
        "KOL_MAX_PAGES_PER_ACCOUNT": "200",
        "KOL_HTTP_DEADLINE_SECONDS": "30.5",
        "KOL_HTTP_MAX_BODY_MB": "16",
        "KOL_DUCKDB_MEMORY_LIMIT": "4GB",
        "KOL_SENTIMENT_WORKERS": "",
        "KOL_AIRFLOW_RETRIES": "0",
    }
    assert config.load(env, env_file=None).home == (tmp_path / "home").resolve()


@pytest.mark.parametrize("char", ["[", "*", "?", "{", "'"])
def test_a_home_with_glob_characters_is_refused(char, tmp_path, monkeypatch, capsys):
    home = tmp_path / f"kol{char}home"
    monkeypatch.setenv("KOL_HOME", str(home))
    assert cli.main(["--env-file", "", "run", "--date", "2026-11-20"]) == cli.EXIT_CONFIG
    err = capsys.readouterr().err
    assert f"KOL_HOME={home}: holds {char}" in err and "glob patterns" in err
    assert not home.exists()


def test_a_date_before_any_platform_is_a_usage_error(kol_home, capsys):
    with pytest.raises(SystemExit) as exc:
        cli.main(["run", "--date", "0001-01-01"])
    assert exc.value.code == 2
    assert "0001-01-01: before 2000-01-01" in capsys.readouterr().err
    assert not Path(kol_home).exists()


def test_a_date_after_today_is_a_usage_error(kol_home, capsys):
    tomorrow = datetime.now(UTC).date() + timedelta(days=1)
    for argv in (["run", "--date", str(tomorrow)], ["backfill", "--start", "2026-01-01",
                                                    "--end", str(tomorrow)]):  # fmt: skip
        with pytest.raises(SystemExit) as exc:
            cli.main(argv)
        assert exc.value.code == 2
        assert f"{tomorrow}: after today" in capsys.readouterr().err
    assert not Path(kol_home).exists()


def test_docs_takes_the_writer_lock(kol_home, capsys):
    with run_lock(Path(kol_home), "a run"):
        assert cli.main(["--env-file", "", "docs"]) == cli.EXIT_LOCKED
    assert "is in use by" in capsys.readouterr().err
    assert not (Path(kol_home) / "quality").exists()


BAD_IDS = [
    ("instagram", "..", None),
    ("instagram", ".hidden", None),
    ("instagram", "a..b", None),
    ("instagram", "star", "../../me"),
    ("instagram", "star", "1784.1"),
    ("facebook", "page", "1/../2"),
    ("youtube", "chan", "UC/../x"),
    ("youtube", "chan", "."),
    ("tiktok", "bad-dash", None),
    ("tiktok", "tab\there", None),
    ("x", "has.dot", None),
    ("x", "ok_name", "12a"),
]


@pytest.mark.parametrize(("platform", "handle", "account_id"), BAD_IDS)
def test_roster_ids_outside_the_platforms_charset_are_refused(platform, handle, account_id):
    entry = RosterEntry("c1", "C", platform, handle, account_id)
    problem = get_platform(platform).invalid(entry)
    assert problem is not None and "fix the roster" in problem
    assert repr(account_id if account_id else handle) in problem


@pytest.mark.parametrize(
    ("platform", "handle", "account_id"),
    [
        ("instagram", "star.light_1", "17841450000000003"),
        ("tiktok", "user.name_9", None),
        ("youtube", "chan", "UCisHzGwMHjJUL0000000000"),
        ("x", "ok_name", "1400000000000000000"),
        ("facebook", "some-page", "100000000000001"),
    ],
)
def test_documented_handles_and_ids_pass(platform, handle, account_id):
    assert (
        get_platform(platform).invalid(RosterEntry("c1", "C", platform, handle, account_id)) is None
    )


def test_roster_lines_with_ids_outside_the_charset_are_quarantined_with_the_line(tmp_path):
    from ingestion.roster import read_roster

    roster = tmp_path / "roster.csv"
    roster.write_text(
        "creator_id,display_name,platform,handle,account_id,niche,country,language\n"
        "c1,Good,instagram,star.light,17841450000000003,beauty,US,en\n"
        "c2,Dots,instagram,..,,beauty,US,en\n"
        "c3,Path,youtube,chan,UC/../../etc,tech,US,en\n"
        "c4,Good,x,ok_name,1400000000000000000,tech,US,en\n"
    )
    load = read_roster(roster)
    assert [e.creator_id for e in load.entries] == ["c1", "c4"]
    reasons = [q.reason for q in load.quarantined]
    assert reasons[0].startswith("roster.csv line 3: invalid instagram handle '..'")
    assert reasons[1].startswith("roster.csv line 4: invalid youtube account_id 'UC/../../etc'")
