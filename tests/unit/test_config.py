"""Settings: defaults, the .env file under the environment, and errors that name the culprit."""

from __future__ import annotations

from pathlib import Path

import pytest

from pipeline import config

ROSTER_HEADER = "creator_id,display_name,platform,handle,account_id,niche,country,language\n"


def test_defaults_point_at_the_real_hosts_and_skip_platforms_without_tokens(tmp_path):
    s = config.load({"KOL_HOME": str(tmp_path / "h")}, env_file=None)
    assert s.home == (tmp_path / "h").resolve()
    assert s.platforms["youtube"].base_url == "https://www.googleapis.com/youtube/v3"
    assert s.platforms["x"].base_url == "https://api.x.com"
    assert s.enabled_platforms() == []
    assert s.roster is None and s.exports_dir is None
    assert s.warehouse == s.home / "warehouse.duckdb"


def test_env_file_is_read_and_the_environment_wins(tmp_path):
    env = tmp_path / ".env"
    env.write_text("KOL_HOME=/tmp/from-file\nKOL_TIKTOK_TOKEN=file-token\n")
    s = config.load({"KOL_HOME": str(tmp_path / "from-env")}, env_file=env)
    assert s.home == (tmp_path / "from-env").resolve()
    assert s.enabled_platforms() == ["tiktok"]
    assert s.platforms["tiktok"].token.reveal() == "file-token"


def test_token_never_shows_in_repr_or_str(tmp_path):
    s = config.load({"KOL_HOME": str(tmp_path), "KOL_X_TOKEN": "s3cr3t-xyz"}, env_file=None)
    assert "s3cr3t-xyz" not in repr(s)
    assert "s3cr3t-xyz" not in str(s.platforms["x"].token)
    assert "s3cr3t-xyz" not in f"{s.platforms}"


def test_missing_roster_names_the_file(tmp_path):
    missing = tmp_path / "nope" / "roster.csv"
    with pytest.raises(config.ConfigError, match=r"KOL_ROSTER=.*nope/roster.csv.*not found"):
        config.load({"KOL_HOME": str(tmp_path), "KOL_ROSTER": str(missing)}, env_file=None)


def test_roster_with_wrong_header_names_the_missing_columns(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("creator_id,platform,handle\nc1,x,abc\n")
    with pytest.raises(config.ConfigError, match="lacks display_name, account_id, niche"):
        config.load({"KOL_HOME": str(tmp_path), "KOL_ROSTER": str(roster)}, env_file=None)


def test_good_roster_and_exports_dir_are_accepted(tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text("\ufeff" + ROSTER_HEADER + "c1,Ann,x,ann,,tech,US,en\n")
    s = config.load(
        {
            "KOL_HOME": str(tmp_path / "h"),
            "KOL_ROSTER": str(roster),
            "KOL_EXPORTS_DIR": str(tmp_path),
        },
        env_file=None,
    )
    assert s.roster == roster and s.exports_dir == tmp_path


def test_exports_dir_that_is_not_a_directory_is_refused(tmp_path):
    with pytest.raises(config.ConfigError, match=r"KOL_EXPORTS_DIR=.*not a directory"):
        config.load(
            {"KOL_HOME": str(tmp_path), "KOL_EXPORTS_DIR": str(tmp_path / "x")}, env_file=None
        )


def test_base_url_must_be_http(tmp_path):
    with pytest.raises(config.ConfigError, match="KOL_YOUTUBE_BASE_URL='ftp://h'"):
        config.load({"KOL_HOME": str(tmp_path), "KOL_YOUTUBE_BASE_URL": "ftp://h"}, env_file=None)


def test_home_that_is_a_file_is_refused(tmp_path):
    f = tmp_path / "file"
    f.write_text("x")
    with pytest.raises(config.ConfigError, match="exists and is not a directory"):
        config.load({"KOL_HOME": str(f)}, env_file=None)


def test_gate_and_publish_cap_duckdb_like_the_dbt_profile(monkeypatch):
    # One knob for every DuckDB connection of a run: the profile's defaults are duckdb_limits'.
    import re

    from pipeline.config import duckdb_limits

    monkeypatch.delenv("KOL_DUCKDB_MEMORY_LIMIT", raising=False)
    monkeypatch.delenv("KOL_DUCKDB_THREADS", raising=False)
    profile = (Path(__file__).resolve().parents[2] / "dbt_project" / "profiles.yml").read_text()
    defaults = dict(
        re.findall(r"env_var\('KOL_DUCKDB_(MEMORY_LIMIT|THREADS)', '([^']+)'\)", profile)
    )

    assert duckdb_limits() == {
        "memory_limit": defaults["MEMORY_LIMIT"],
        "threads": defaults["THREADS"],
    }
    monkeypatch.setenv("KOL_DUCKDB_MEMORY_LIMIT", "1GB")
    assert duckdb_limits()["memory_limit"] == "1GB"
    monkeypatch.setenv("KOL_DUCKDB_MEMORY_LIMIT", "")  # compose passes unset variables as ""
    assert duckdb_limits()["memory_limit"] == defaults["MEMORY_LIMIT"]
