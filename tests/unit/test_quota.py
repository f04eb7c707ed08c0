"""The quota model's arithmetic, the refresh priority policy, and the quota settings.

Every expected number is worked out by hand from the documented costs in
docs/platform_apis.md "Quotas".
"""

from __future__ import annotations

import json
from datetime import date, timedelta
from pathlib import Path

import pytest

from ingestion.quota import (
    QuotaSettings,
    accounts_that_fit,
    accounts_within,
    charged,
    daily_budget,
    days_to_cover,
    documented_per_account,
    per_account_from_history,
)
from ingestion.refresh_plan import NEVER, Candidate, plan_refresh, refresh_order
from ingestion.roster import RosterEntry
from pipeline import cli, config

D = date(2026, 11, 20)


def test_documented_estimate_per_account_day():
    # channels 1/50 (batched) + 1 uploads page + 12 videos / 50 per request + 3 comment pages
    assert documented_per_account("youtube") == {"units": pytest.approx(4.26)}
    # user info + 12 videos of a 100-video query page shared by 100 usernames + 3 comment
    # pages; 1 user + 12 videos + 3 x 100 comments
    assert documented_per_account("tiktok") == {"requests": pytest.approx(4.12), "records": 313}
    assert documented_per_account("instagram") == {"calls": 16}  # 1 + 12 insights + 3
    # 12 + 3 x 100 posts read; users/by 1/100, one timeline page, one replies page per
    # recent post (the requests X counts per 15-minute window)
    assert documented_per_account("x") == {
        "posts read": 312,
        "users_by requests": 0.01,
        "tweets requests": 1,
        "replies requests": 3,
    }


def test_a_run_is_charged_by_method_cost():
    by_endpoint = {"channels": 1, "playlist_items": 4, "videos": 4, "comment_threads": 4}
    assert charged("youtube", {"requests_by_endpoint": by_endpoint}) == {"units": 13}
    # search.list costs 100 units
    assert charged("youtube", {"requests_by_endpoint": {**by_endpoint, "search": 1}}) == {
        "units": 113
    }
    # an older manifest without per-endpoint counts: every method used costs 1
    assert charged("youtube", {"requests": 9}) == {"units": 9}
    served = {"accounts": {"served": 3}, "posts": {"served": 30}, "comments": {"served": 307}}
    assert charged("tiktok", {"requests": 39, "entities": served}) == {
        "requests": 39,
        "records": 340,
    }
    assert charged("x", {"requests": 27, "entities": served}) == {"posts read": 337}
    by_endpoint = {"users_by": 1, "tweets": 3, "replies": 23}
    assert charged("x", {"requests_by_endpoint": by_endpoint, "entities": served}) == {
        "posts read": 337,
        "users_by requests": 1,
        "tweets requests": 3,
        "replies requests": 23,
    }


def test_per_account_cost_is_the_mean_of_landed_runs():
    runs = [
        {"status": "ok", "requests": 13, "accounts": {"total": 4}},  # no "ok": the total
        # a quota stop: 3 landed, 1 failed, 6 skipped unrequested -> 4 accounts for 20 units
        {
            "status": "partial",
            "requests": 20,
            "accounts": {"total": 10, "ok": 3, "failed": [{"account": "@a"}], "skipped": [{}] * 6},
        },
        {
            "status": "partial",
            "requests_by_endpoint": {"channels": 1, "playlist_items": 6, "videos": 6},
            "requests": 0,
            "accounts": {"total": 6},
        },
        {"status": "failed", "requests": 500, "accounts": {"total": 6}},  # not counted
    ]
    per_account, n = per_account_from_history("youtube", runs)
    assert n == 3
    assert per_account == {"units": pytest.approx((13 + 20 + 13) / (4 + 4 + 6))}
    assert per_account_from_history("youtube", runs[3:]) is None


def test_daily_budgets_and_days_to_cover():
    q = QuotaSettings()
    assert daily_budget("youtube", q, D) == {"units": 10_000}
    assert daily_budget("tiktok", q, D) == {"requests": 1_000, "records": 100_000}
    # a run keeps to 90% of the token's 200 calls an hour (Meta's slow-down threshold), for
    # one hour by default
    assert daily_budget("instagram", q, D) == {"calls": 180}
    # November: 30 days; 90% of one 15-minute window of each endpoint's requests a run (the
    # plan's prices are estimates; a full window would make the client wait for its reset)
    windows = {"users_by requests": 270, "tweets requests": 1_350, "replies requests": 405}
    assert daily_budget("x", q, D) == {"posts read": 1_000_000 // 30, **windows}
    basic = QuotaSettings(x_access_tier="basic", graph_hours_per_day=2, x_windows_per_run=2)
    assert daily_budget("x", basic, date(2026, 2, 10)) == {
        "posts read": 10_000 // 28,
        **{m: 2 * n for m, n in windows.items()},
    }
    assert daily_budget("facebook", basic, D) == {"calls": 360}
    # TikTok: requests bind (1000/4.12 = 242) before records (100000/313 = 319)
    per = documented_per_account("tiktok")
    assert accounts_that_fit(per, daily_budget("tiktok", q, D)) == 242
    assert days_to_cover(per, daily_budget("tiktok", q, D), 450) == 2
    assert days_to_cover(per, daily_budget("tiktok", q, D), 500) == 3
    # X on pro: 33,333 // 312 = 106 accounts a day; 1,000 accounts take 10 days
    assert days_to_cover(documented_per_account("x"), daily_budget("x", q, D), 1_000) == 10
    assert days_to_cover({"units": 20.0}, {"units": 10}, 5) is None  # one account never fits


def test_priority_campaign_then_stalest_then_bigger_then_key():
    c = [
        Candidate("a", days_stale=1, followers=1_000_000),
        Candidate("b", in_campaign=True, days_stale=1, followers=10),
        Candidate("c", days_stale=NEVER),
        Candidate("d", days_stale=5, followers=100),
        Candidate("e", days_stale=5, followers=5_000),
        Candidate("f", in_campaign=True, days_stale=3),
        Candidate("g", days_stale=5, followers=5_000),
    ]
    assert [x.key for x in refresh_order(c)] == ["f", "b", "c", "e", "g", "d", "a"]
    assert [x.key for x in refresh_order(reversed(c))] == ["f", "b", "c", "e", "g", "d", "a"]


def _entry(n: int) -> RosterEntry:
    return RosterEntry(f"cr{n}", None, "youtube", f"chan{n}", f"UC{n}")


def _manifest(root: Path, day: date, landed: list[str], requests: int) -> None:
    path = root / "manifests" / f"dt={day}" / "youtube.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    body = {
        "source": "youtube",
        "run_date": day.isoformat(),
        "status": "partial",
        "requests": requests,
        "accounts": {"total": len(landed), "landed": landed},
    }
    path.write_text(json.dumps(body))


def test_plan_from_landed_manifests_and_campaign_exports(tmp_path):
    entries = [_entry(n) for n in (1, 2, 3, 4)]
    k1, k2, k3, k4 = (e.key for e in entries)
    _manifest(tmp_path, D - timedelta(days=2), [k1, k2, k3], requests=12)
    _manifest(tmp_path, D - timedelta(days=1), [k1], requests=4)
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "campaigns.csv").write_text(
        "campaign_id,brand_id,name,objective,start_date,end_date,budget,currency,hashtag,brief\n"
        f"c1,b1,On,awareness,{D - timedelta(days=3)},{D},1,USD,#x,\n"
        f"c2,b1,Over,awareness,2026-01-01,{D - timedelta(days=1)},1,USD,#x,\n"
    )
    (exports / "campaign_creators.csv").write_text(
        "campaign_id,creator_id,platform,fee,currency,post_ids\n"
        "c1,cr3,youtube,1,USD,\nc1,cr1,instagram,1,USD,\nc2,cr2,youtube,1,USD,\n"
    )
    # history: (12 + 4) units / (3 + 1) accounts = 4 a day; 9 units cover 2 accounts
    plan = plan_refresh(
        "youtube", D, entries, tmp_path, exports, QuotaSettings(youtube_units_per_day=9)
    )
    assert plan.per_account == {"units": 4.0}
    assert plan.estimate == "mean of the last 2 landed run(s)"
    assert plan.full_cost == {"units": 16}
    # cr3 is in a campaign active on D (cr1's is on Instagram, cr2's ended on D-1); then
    # k4 never landed; then k2 (last landed D-2) before k1 (landed D-1)
    assert plan.refresh == [k3, k4]
    assert [d["account"] for d in plan.deferred] == [k2, k1]
    assert plan.deferred[0]["reason"] == "over the day's quota: priority 3 of 4"
    assert plan.days_for_roster == 2
    roomy = plan_refresh("youtube", D, entries, tmp_path, exports, QuotaSettings())
    assert roomy.fits and roomy.refresh == [k3, k4, k2, k1]


@pytest.mark.parametrize(
    ("var", "value"),
    [
        ("KOL_YOUTUBE_UNITS_PER_DAY", "lots"),
        ("KOL_YOUTUBE_UNITS_PER_DAY", "0"),
        ("KOL_TIKTOK_REQUESTS_PER_DAY", "-5"),
        ("KOL_TIKTOK_RECORDS_PER_DAY", "1.5"),
        ("KOL_GRAPH_CALLS_PER_HOUR", ""),
        ("KOL_GRAPH_HOURS_PER_DAY", "25"),
        ("KOL_X_WINDOWS_PER_RUN", "97"),
        ("KOL_X_ACCESS_TIER", "gold"),
        ("KOL_X_POSTS_PER_MONTH", "1e6"),
    ],
)
def test_bad_quota_setting_exits_2_naming_it(kol_home, monkeypatch, capsys, var, value):
    if not value:  # empty means unset: the documented default, not an error
        monkeypatch.setenv(var, value)
        assert config.load(env_file=None).quota.graph_calls_per_hour == 200
        return
    monkeypatch.setenv(var, value)
    assert cli.main(["--env-file", "", "plan"]) == cli.EXIT_CONFIG
    err = capsys.readouterr().err
    assert "configuration error" in err and var in err


def test_quota_settings_are_read(kol_home, monkeypatch):
    monkeypatch.setenv("KOL_YOUTUBE_UNITS_PER_DAY", "1_000_000")
    monkeypatch.setenv("KOL_X_ACCESS_TIER", "Basic")
    q = config.load(env_file=None).quota
    assert q.youtube_units_per_day == 1_000_000
    assert q.x_monthly_cap() == 10_000
    monkeypatch.setenv("KOL_X_POSTS_PER_MONTH", "20000")
    assert config.load(env_file=None).quota.x_monthly_cap() == 20_000
    assert config.load(env_file=None).quota.x_windows_per_run == 1
    monkeypatch.setenv("KOL_X_WINDOWS_PER_RUN", "4")
    assert config.load(env_file=None).quota.x_windows_per_run == 4


def test_a_ledger_file_from_before_the_quota_column_still_reads(tmp_path):
    import pyarrow as pa
    import pyarrow.parquet as pq

    from expectations import ledger

    row = ledger.LedgerRow(run_id="r1", run_date=D, started_at="2026-11-21T01:00:00+00:00")
    path = ledger.append(tmp_path, row)
    old = pq.read_table(path).drop(["quota_used"])
    pq.write_table(old, path)
    assert isinstance(old, pa.Table) and "quota_used" not in old.column_names
    assert ledger.get(tmp_path, "r1").quota_used == {}
    with_quota = ledger.LedgerRow(
        run_id="r2",
        run_date=D,
        started_at="2026-11-21T02:00:00+00:00",
        quota_used={"youtube": {"units": {"used": 2_500, "budget": 10_000}, "deferred": 3}},
    )
    ledger.append(tmp_path, with_quota)
    text = ledger.format_run(ledger.get(tmp_path, "r2"))
    assert "youtube   units    2,500  10,000      25%    3" in text


def test_unreadable_exports_and_records_do_not_stop_the_plan(tmp_path):
    entries = [_entry(n) for n in (1, 2)]
    _manifest(tmp_path, D - timedelta(days=1), [entries[0].key], requests=4)
    part = tmp_path / "records" / "accounts" / "platform=youtube" / f"dt={D - timedelta(days=1)}"
    part.mkdir(parents=True)
    (part / "part-x.parquet").write_bytes(b"not parquet")
    exports = tmp_path / "exports"
    exports.mkdir()
    (exports / "campaigns.csv").write_bytes(b"\xff\xfe\x00broken")
    plan = plan_refresh("youtube", D, entries, tmp_path, exports, QuotaSettings())
    # never-landed cr2 first, then cr1 (landed D-1)
    assert plan.refresh == [entries[1].key, entries[0].key]


def test_the_hourly_allowance_waits_for_the_rolling_hour_then_stops_the_run():
    """3 calls an hour over 2 hours: the 4th call waits until the 1st is an hour old, the
    7th is refused before it is sent."""
    from ingestion.http import HourlyAllowance, QuotaExceeded

    now = [0.0]
    slept: list[float] = []

    def sleep(seconds: float) -> None:
        slept.append(seconds)
        now[0] += seconds

    allowance = HourlyAllowance("instagram", 3, hours=2, clock=lambda: now[0], sleep=sleep)
    sent = []
    for gap in (0, 10, 10, 10, 0, 0):
        now[0] += gap
        allowance.take()
        sent.append(now[0])
    # 0, 10, 20 pass; the 4th (asked at 30) waits 3570 s for the one sent at 0 to age out;
    # the 5th and 6th wait for those of 10 and 20
    assert sent == [0, 10, 20, 3600, 3610, 3620]
    assert slept == [3570, 10, 10]
    with pytest.raises(QuotaExceeded, match="this run's 6 calls"):
        allowance.take()
    assert allowance.taken == 6


def test_graph_runs_keep_below_the_slow_down_threshold():
    from ingestion.quota import graph_allowance, hourly_limit

    assert graph_allowance(QuotaSettings()) == (180, 1)
    assert hourly_limit("facebook", QuotaSettings(graph_hours_per_day=3)) == (180, 3)
    assert hourly_limit("instagram", QuotaSettings(graph_calls_per_hour=1)) == (1, 1)
    assert hourly_limit("youtube", QuotaSettings()) is None


def test_an_account_that_keeps_failing_waits_for_the_roster_to_have_its_turn(tmp_path):
    """k1 failed (an unknown handle) on D-1, k2 landed on D-2, k3 was not reached (the quota
    stopped the run before its turn), k4 was never tried: k4 and k3 first, then k2 (tried
    two days ago), then k1 (tried yesterday) — not the failing account first every day."""
    entries = [_entry(n) for n in (1, 2, 3, 4)]
    k1, k2, k3, k4 = (e.key for e in entries)
    _manifest(tmp_path, D - timedelta(days=2), [k2], requests=4)
    path = tmp_path / "manifests" / f"dt={D - timedelta(days=1)}" / "youtube.json"
    path.parent.mkdir(parents=True, exist_ok=True)
    by_key = {k1: {"status": "failed"}, k3: {"status": "skipped"}}
    body = {"source": "youtube", "run_date": str(D - timedelta(days=1)), "status": "partial"}
    path.write_text(json.dumps({**body, "accounts": {"landed": [], "by_key": by_key}}))
    plan = plan_refresh(
        "youtube", D, entries, tmp_path, None, QuotaSettings(youtube_units_per_day=9)
    )
    # k3 and k4 were never tried: the roster key orders them
    assert plan.refresh + [d["account"] for d in plan.deferred] == [k3, k4, k2, k1]


def test_accounts_are_priced_by_their_own_last_day_within_the_budget(tmp_path):
    """D-1 landed k1, k2, k3 for 12 units: 4 an account on average. k1 alone spent 6
    requests, k2 and k3 3 each (mean 4): weights 1.5, 0.75, 0.75; k4 never landed (the
    mean, 4). Order: k4 (never tried), then k1, k2, k3 (the key). Prices 4, 6, 3, 3: 12
    units take k4 and k1 (10; with k2, 13 > 12), where the roster mean would take three."""
    entries = [_entry(n) for n in (1, 2, 3, 4)]
    k1, k2, k3, k4 = (e.key for e in entries)
    _manifest(tmp_path, D - timedelta(days=1), [k1, k2, k3], requests=12)
    path = tmp_path / "manifests" / f"dt={D - timedelta(days=1)}" / "youtube.json"
    body = json.loads(path.read_text())
    body["requests_by_account"] = {k1: 6, k2: 3, k3: 3, "cr9:not-landed": 40}
    path.write_text(json.dumps(body))
    # requests of an account the run did not land count nowhere: the mean is (6 + 3 + 3) / 3
    plan = plan_refresh(
        "youtube", D, entries, tmp_path, None, QuotaSettings(youtube_units_per_day=12)
    )
    assert plan.per_account == {"units": 4.0}
    assert plan.refresh == [k4, k1]
    assert [d["account"] for d in plan.deferred] == [k2, k3]
    assert plan.estimate.endswith("each account weighted by its own last day's requests")
    assert accounts_that_fit(plan.per_account, plan.budget) == 3  # the mean alone: 12 / 4
    # 13 units: k2's 3 fits exactly (4 + 6 + 3), k3's does not
    roomier = plan_refresh(
        "youtube", D, entries, tmp_path, None, QuotaSettings(youtube_units_per_day=13)
    )
    assert roomier.refresh == [k4, k1, k2]


def test_accounts_within_stops_at_the_first_that_overruns_any_measure():
    costs = [
        {"requests": 2.0, "records": 50.0},
        {"requests": 1.0, "records": 60.0},
        {"requests": 1.0, "records": 1.0},
    ]
    assert accounts_within(costs, {"requests": 10, "records": 100}) == 1  # records 110 > 100
    assert accounts_within(costs, {"requests": 3, "records": 1000}) == 2  # 2 + 1 + 1 > 3
    assert accounts_within(costs, {"calls": 1}) == 3  # an unlimited measure never stops it
    assert accounts_within([], {"requests": 1}) == 0


def test_x_plans_each_endpoints_requests_within_the_runs_windows(tmp_path):
    """D-1 landed 10 accounts: 1,000 posts read, 90 replies, 10 timeline and 1 users/by
    requests, so 100 posts read, 9 replies, 1 and 0.1 requests an account. Pro's 33,333 posts
    a day would take 333 accounts, but 90% of one window's 450 replies requests, 405, take
    45: of 60 accounts, 45 refresh and the run does not wait for a window's reset. Two
    windows a run (KOL_X_WINDOWS_PER_RUN=2): 810 replies requests, all 60."""
    entries = [RosterEntry(f"cr{n:02d}", None, "x", f"h{n:02d}", None) for n in range(60)]
    keys = [e.key for e in entries]
    path = tmp_path / "manifests" / f"dt={D - timedelta(days=1)}" / "x.json"
    path.parent.mkdir(parents=True)
    path.write_text(
        json.dumps(
            {
                "source": "x",
                "run_date": str(D - timedelta(days=1)),
                "status": "ok",
                "accounts": {"total": 10, "ok": 10, "landed": keys[:10]},
                "entities": {"posts": {"served": 100}, "comments": {"served": 900}},
                "requests_by_endpoint": {"users_by": 1, "tweets": 10, "replies": 90},
            }
        )
    )
    plan = plan_refresh("x", D, entries, tmp_path, None, QuotaSettings())
    assert plan.per_account == {
        "posts read": 100.0,
        "users_by requests": 0.1,
        "tweets requests": 1.0,
        "replies requests": 9.0,
    }
    assert len(plan.refresh) == 45 and len(plan.deferred) == 15
    # the 50 never tried go first (the key orders them); the last 5 of them and D-1's 10 wait
    assert plan.refresh == keys[10:55]
    assert [d["account"] for d in plan.deferred] == keys[55:] + keys[:10]
    assert plan.days_for_roster == 2
    two = plan_refresh("x", D, entries, tmp_path, None, QuotaSettings(x_windows_per_run=2))
    assert two.fits and len(two.refresh) == 60
