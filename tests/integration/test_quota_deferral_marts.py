"""A planned deferral end to end: the sandbox with the documented quotas on, two days of
YouTube, the second day's quota covering half the roster. The day is built, passes the gate
and is published; the deferred channels keep their last observed data, and the marts say when
each account's data was last refreshed (`data_as_of`)."""

from __future__ import annotations

import math
from datetime import date, timedelta
from pathlib import Path

import duckdb
import pytest

from ingestion.landing import read_manifest
from ingestion.quota import per_account_from_history
from ingestion.roster import read_roster
from pipeline import config, policy
from sandbox import FaultConfig, SandboxServer, WorldConfig, export_world

pytestmark = pytest.mark.integration

END = date(2026, 11, 20)
DAY1, DAY2 = END - timedelta(days=1), END
CFG = WorldConfig(seed=3, creators=6, days=100, end_date=END)


def _settings(server: SandboxServer, world: dict[str, Path], home: Path, units: str):
    env = {
        **server.env(),
        "KOL_HOME": str(home),
        "KOL_ROSTER": str(world["roster"]),
        "KOL_EXPORTS_DIR": str(world["roster"].parent),
        "KOL_YOUTUBE_TOKEN": "sandbox",
        "KOL_YOUTUBE_UNITS_PER_DAY": units,
    }
    return config.load(env, env_file=None)


def test_a_planned_deferral_is_published_with_each_accounts_data_as_of(tmp_path: Path) -> None:
    world = export_world(CFG, tmp_path / "world")
    home = tmp_path / "kol"
    keys = {
        e.key: e.creator_id for e in read_roster(world["roster"]).entries if e.platform == "youtube"
    }
    with SandboxServer(CFG, token="sandbox", faults=FaultConfig.parse("quota_model=1")) as server:
        server.set_clock(DAY1)
        s = _settings(server, world, home, "10000")  # the documented default: all 4 fit
        policy.run_day(s, DAY1, platforms=["youtube"], build=False)
        assert not read_manifest(s.landing, "youtube", DAY1).get("deferred")
        server.set_clock(DAY2)
        # the plan prices a channel-day at day 1's mean cost: a budget of twice that fits 2
        per, _ = per_account_from_history("youtube", [read_manifest(s.landing, "youtube", DAY1)])
        s = _settings(server, world, home, str(math.ceil(2 * per["units"])))
        summary = policy.run_day(s, DAY2, platforms=["youtube"])
    assert summary.stages.get("gate") == "passed", summary.message
    assert summary.status == "partial" and "deferred by the quota plan" in summary.message
    deferred = {d["account"] for d in read_manifest(s.landing, "youtube", DAY2)["deferred"]}
    assert len(deferred) == 2
    expected = {keys[k]: (DAY1 if k in deferred else DAY2) for k in keys}
    with duckdb.connect(str(s.serving / "marts.duckdb"), read_only=True) as con:
        cards = dict(
            con.execute(
                "select creator_id, data_as_of from creator_scorecard where platform = 'youtube'"
            ).fetchall()
        )
        accounts = dict(
            con.execute(
                "select creator_id, data_as_of from dim_creator_accounts where platform = 'youtube'"
            ).fetchall()
        )
        followers = dict(
            con.execute(
                "select creator_id, followers from creator_scorecard where platform = 'youtube'"
            ).fetchall()
        )
        daily = dict(
            con.execute(
                "select creator_id, followers from fct_creator_daily "
                "where platform = 'youtube' and date = ?",
                [DAY1],
            ).fetchall()
        )
    assert cards == expected and accounts == expected
    # a deferred channel's scorecard carries its last observed followers (day 1's)
    for k in deferred:
        assert followers[keys[k]] == daily[keys[k]]
