"""Runs that do not fit a quota, against the sandbox with the documented quotas on
(`quota_model=1`) and a real landing zone: the plan is followed exactly, deferred accounts
are listed and go first next day, and a quota answer stops the platform without losing
what landed.
"""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest
import requests

from expectations import ledger
from ingestion.landing import read_manifest
from ingestion.roster import read_roster
from pipeline import cli, config, policy
from pipeline.report import status_text
from sandbox import FaultConfig, SandboxServer, WorldConfig, export_world

pytestmark = pytest.mark.integration

END = date(2026, 11, 20)
DAY1, DAY2 = END - timedelta(days=1), END
CFG = WorldConfig(seed=3, creators=6, days=100, end_date=END)
TOKEN = "sandbox"


@pytest.fixture(scope="module")
def world(tmp_path_factory) -> dict[str, Path]:
    return export_world(CFG, tmp_path_factory.mktemp("world"))


def settings_for(server: SandboxServer, world: dict[str, Path], home: Path, **extra: str):
    env = {
        **server.env(),
        "KOL_HOME": str(home),
        "KOL_ROSTER": str(world["roster"]),
        "KOL_EXPORTS_DIR": str(world["roster"].parent),
        "KOL_YOUTUBE_TOKEN": TOKEN,
        **extra,
    }
    return config.load(env, env_file=None)


def run(server: SandboxServer, world: dict[str, Path], home: Path, day: date, **extra: str):
    server.set_clock(day)
    s = settings_for(server, world, home, **extra)
    return s, policy.run_day(s, day, platforms=["youtube"], build=False)


def landed_creators(home: Path, day: date) -> set[str]:
    part = home / "landing" / "records" / "accounts" / "platform=youtube" / f"dt={day}"
    return {c for f in part.glob("*.parquet") for c in pq.read_table(f)["creator_id"].to_pylist()}


def followers_landed(home: Path, day: date) -> dict[str, int]:
    part = home / "landing" / "records" / "accounts" / "platform=youtube" / f"dt={day}"
    out = {}
    for f in part.glob("*.parquet"):
        t = pq.read_table(f)
        out.update(zip(t["creator_id"].to_pylist(), t["subscriber_count"].to_pylist(), strict=True))
    return out


def stats(server: SandboxServer) -> dict[str, Any]:
    return requests.get(f"{server.url}/_sandbox/stats", timeout=5).json()


def test_a_day_that_does_not_fit_then_the_deferred_go_first(world, tmp_path, capsys, monkeypatch):
    home = tmp_path / "kol"
    keys = {e.key: e for e in read_roster(world["roster"]).entries if e.platform == "youtube"}
    assert len(keys) == 4
    with SandboxServer(CFG, token=TOKEN, faults=FaultConfig.parse("quota_model=1")) as server:
        # documented estimate 4.26 units an account-day: 9 units cover 2 of the 4 channels
        s, summary = run(server, world, home, DAY1, KOL_YOUTUBE_UNITS_PER_DAY="9")
        m1 = read_manifest(s.landing, "youtube", DAY1)
        planned = policy.plan_refresh(s, "youtube", DAY1)
        assert len(planned.refresh) == 2 and len(m1["deferred"]) == 2
        assert sorted(m1["accounts"]["landed"]) == sorted(planned.refresh)
        deferred1 = [d["account"] for d in m1["deferred"]]
        assert sorted(deferred1) == sorted(set(keys) - set(planned.refresh))
        assert m1["status"] == "partial"
        assert "2 accounts deferred by the quota plan" in m1["reason"]
        assert "deferred by the quota plan" in summary.message
        # the deferred channels were not requested: no record of theirs landed
        assert landed_creators(home, DAY1) == {keys[k].creator_id for k in planned.refresh}
        # each request is shared among the channels it names (a batched /channels or /videos
        # call splits): per account, the requests add up to the run's, for the planned only
        spent = m1["requests_by_account"]
        assert set(spent) == set(planned.refresh)
        assert sum(spent.values()) == pytest.approx(sum(m1["requests_by_endpoint"].values()))
        # the ledger's units are what the sandbox charged
        charged1 = stats(server)["quota_charged"]["youtube"]["units"]
        assert summary.quota["youtube"]["units"] == {"used": charged1, "budget": 9}
        assert summary.quota["youtube"]["deferred"] == 2
        row = ledger.get(s.quality, summary.run_id)
        assert row is not None and row.quota_used["youtube"]["units"]["used"] == charged1

        # next day: the cost per channel is day 1's (charged1 / 2); the two never landed
        # are the stalest and go first
        per_channel = charged1 / 2
        budget = int(2 * per_channel) + 1  # two channels fit, three do not
        assert 3 * per_channel > budget
        s, summary = run(server, world, home, DAY2, KOL_YOUTUBE_UNITS_PER_DAY=str(budget))
        m2 = read_manifest(s.landing, "youtube", DAY2)
        # `kol status` shows the last run's quota use: used, budget, share, deferred
        used2 = summary.quota["youtube"]["units"]["used"]
        quota_lines = status_text(s).split("quota used by run " + summary.run_id)[1]
        row = next(x for x in quota_lines.splitlines() if x.startswith("youtube"))
        assert row.split() == [
            "youtube",
            "units",
            str(used2),
            str(budget),
            f"{used2 / budget:.0%}",
            "2",
            "-",
        ]
        assert sorted(m2["accounts"]["landed"]) == sorted(deferred1)
        assert sorted(d["account"] for d in m2["deferred"]) == sorted(planned.refresh)
        assert m2["quota_plan"]["per_account"] == {"units": round(per_channel, 3)}

        # `kol plan` for the day after: day 1's landed pair is now the stalest
        capsys.readouterr()
        env = {"KOL_YOUTUBE_UNITS_PER_DAY": str(budget)}
        code = cli_plan(monkeypatch, server, world, home, END + timedelta(days=1), env)
        out = capsys.readouterr().out
        assert code == 0
        row = next(line for line in out.splitlines() if line.strip().startswith("youtube"))
        cols = row.split()
        # accounts, refresh, defer and days for the roster (4 channels, 2 a day)
        assert cols[1] == "4" and cols[-3:] == ["2", "2", "2"]
        # day 1's pair (2 days stale) before day 2's; their followers are unknown (not in
        # day 2's records), so the roster key orders them
        first = "refreshes today (priority order): " + ", ".join(sorted(planned.refresh))
        assert first in out
        # day 2's pair: bigger channel first (subscribers landed on day 2)
        subs = followers_landed(home, DAY2)
        # (hidden subscribers: unknown, ordered last)
        bigger_first = sorted(deferred1, key=lambda k: (-(subs.get(keys[k].creator_id) or -1), k))
        assert subs[keys[bigger_first[0]].creator_id] != subs[keys[bigger_first[1]].creator_id]
        assert "deferred: " + ", ".join(bigger_first) in out
        assert "cost per account from the mean of the last 2 landed run(s)" in out
        # TikTok (3 accounts, documented 4.12 requests and 313 records each) fits a default day
        assert (
            "the documented default quota (1,000 requests, 100,000 records a day) refreshes "
            "all 3 accounts in 1 day(s)"
        ) in out


def cli_plan(monkeypatch, server, world, home: Path, day: date, extra: dict[str, str]) -> int:
    """`kol plan --date day` in-process, with only this test's KOL_* settings."""
    import os

    for k in [k for k in os.environ if k.startswith("KOL_")]:
        monkeypatch.delenv(k)
    env = {
        **server.env(),
        "KOL_HOME": str(home),
        "KOL_ROSTER": str(world["roster"]),
        "KOL_EXPORTS_DIR": str(world["roster"].parent),
        "KOL_YOUTUBE_TOKEN": TOKEN,
        **extra,
    }
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    return cli.main(["--env-file", "", "plan", "--date", day.isoformat()])


def test_a_quota_answer_stops_the_platform_and_keeps_what_landed(world, tmp_path, monkeypatch):
    home = tmp_path / "kol"
    monkeypatch.setenv("KOL_EXTRACT_WORKERS", "1")  # accounts in order: the first ones finish
    spec = "quota_model=1,youtube_units_per_day=7"  # the key runs out mid-run
    with SandboxServer(CFG, token=TOKEN, faults=FaultConfig.parse(spec)) as server:
        s, summary = run(server, world, home, DAY1)  # the plan thinks 10,000 units
        m = read_manifest(s.landing, "youtube", DAY1)
        snap = stats(server)
    assert m["status"] == "partial" and "quota exceeded" in m["reason"]
    assert m["deferred"] == [] and m["accounts"]["skipped"]
    assert snap["quota_charged"]["youtube"]["units"] == 7
    # every request the sandbox answered is a raw page; every record it served landed
    assert sum(m["requests_by_endpoint"].values()) == m["requests"]
    for entity, served in snap["served"]["youtube"].items():
        got = m["entities"].get(entity, {"landed": 0, "quarantined": 0})
        assert served == got["landed"] + got["quarantined"], entity
    # the channels batch landed every channel's account record; the channel that finished
    # before the quota ran out has its posts too
    keys = {e.key: e.creator_id for e in read_roster(world["roster"]).entries}
    finished = {keys[k] for k in m["accounts"]["landed"]}
    assert finished and finished <= landed_creators(home, DAY1)
    # the ledger counts every attempt, the refused one too (an upper bound of the charge)
    refused = snap["quota_charged"]["youtube"]["refused"]
    assert summary.quota["youtube"]["units"] == {"used": 7 + refused, "budget": 10_000}


def test_a_quota_too_small_for_one_account_defers_all_and_lands_nothing(world, tmp_path):
    home = tmp_path / "kol"
    with SandboxServer(CFG, token=TOKEN, faults=FaultConfig.parse("quota_model=1")) as server:
        # 4.26 units an account-day (documented estimate) > 4 units
        s, summary = run(server, world, home, DAY1, KOL_YOUTUBE_UNITS_PER_DAY="4")
        snap = stats(server)
    m = read_manifest(s.landing, "youtube", DAY1)
    assert m["status"] == "skipped"
    assert m["reason"] == "all 4 accounts deferred by the quota plan"
    assert len(m["deferred"]) == 4 and m["quota_plan"]["days_for_roster"] is None
    assert snap["requests"]["youtube"] == 0
    assert "youtube skipped" in summary.message


def test_a_graph_run_keeps_within_the_hourly_limit_and_stops_before_the_platform_refuses(
    world, tmp_path, monkeypatch
):
    """Instagram with the sandbox holding the token to 40 calls an hour (error 17 past it):
    the run keeps to 90% of that (36 calls, usage never above the slow-down threshold), the
    platform refuses nothing, what landed stays, and the accounts not reached go first on
    the next run."""
    home = tmp_path / "kol"
    monkeypatch.setenv("KOL_EXTRACT_WORKERS", "1")
    ig = sorted(e.key for e in read_roster(world["roster"]).entries if e.platform == "instagram")
    spec = "quota_model=1,graph_calls_per_hour=40"
    extra = {"KOL_INSTAGRAM_TOKEN": TOKEN, "KOL_GRAPH_CALLS_PER_HOUR": "40"}
    with SandboxServer(CFG, token=TOKEN, faults=FaultConfig.parse(spec)) as server:
        server.set_clock(DAY1)
        s = settings_for(server, world, home, **extra)
        policy.run_day(s, DAY1, platforms=["instagram"], build=False)
        snap = stats(server)
    m = read_manifest(s.landing, "instagram", DAY1)
    # the documented estimate (16 calls an account) plans 2 of the accounts into 36 calls; their
    # first-sight pull (90 days of media, insights and comments) costs more
    assert m["quota_plan"]["budget"] == {"calls": 36}
    assert m["quota_plan"]["refresh"] == 2 and len(m["deferred"]) == len(ig) - 2
    # the client stopped itself at 36: the platform refused nothing
    assert snap["quota_charged"]["instagram"] == {"calls": 36}
    assert sum(m["requests_by_endpoint"].values()) == m["requests"] == 36
    assert m["status"] == "partial" and "this run's 36 calls" in m["reason"]
    landed = set(m["accounts"]["landed"])
    assert len(landed) < 2 and m["accounts"]["skipped"]
    # every record the sandbox served landed
    for entity, served in snap["served"]["instagram"].items():
        got = m["entities"].get(entity, {"landed": 0, "quarantined": 0})
        assert served == got["landed"] + got["quarantined"], entity
