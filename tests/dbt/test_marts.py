"""The real `dbt build` on the hand-made landing of conftest.py; expected values by hand."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pytest

from pipeline.transform import DbtResult

pytestmark = pytest.mark.integration


def rows(home: Path, sql: str) -> list[dict]:
    with duckdb.connect(str(home / "warehouse.duckdb"), read_only=True) as con:
        cursor = con.execute(sql)
        names = [d[0] for d in cursor.description]
        return [dict(zip(names, r, strict=True)) for r in cursor.fetchall()]


def one(home: Path, sql: str) -> dict:
    found = rows(home, sql)
    assert len(found) == 1, found
    return found[0]


def test_build_passes_models_data_tests_and_unit_tests(built_home: tuple[Path, DbtResult]) -> None:
    _, result = built_home
    assert result.ok, result.failures
    assert result.nodes_run > 100  # seeds + models + data tests + unit tests all ran


def test_emv_of_the_example_post_is_1752_50(built_home: tuple[Path, DbtResult]) -> None:
    home, _ = built_home
    post = one(home, "select * from fct_post_performance where post_id = 'ig1'")
    # 5,000 x 0.30 + 500 x 0.50 + 50,000 / 1000 x 0.05 = 1,500 + 250 + 2.50
    assert post["emv_usd"] == pytest.approx(1752.50)
    assert post["engagements"] == 5500  # shares/saves not reported by insights: counted as 0
    assert post["views"] == 50_000


def test_missing_insight_stays_null_not_zero(built_home: tuple[Path, DbtResult]) -> None:
    home, _ = built_home
    post = one(home, "select * from fct_post_performance where post_id = 'ig2'")
    assert post["views"] is None and post["shares"] is None and post["saves"] is None
    assert post["engagements"] == 320  # 300 likes + 20 comments
    assert post["emv_usd"] == pytest.approx(300 * 0.30 + 20 * 0.50)


def test_a_rerun_day_keeps_both_extractions_in_staging_and_the_latest_in_the_warehouse(
    built_home: tuple[Path, DbtResult],
) -> None:
    home, _ = built_home
    sql = "select count(*) as n from stg_instagram__comments where comment_id = 'cm1' and snapshot_date = DATE '2026-11-24'"
    assert one(home, sql)["n"] == 2  # both runs of D
    kept = rows(
        home, "select comment_id, like_count from int_comments_unioned where platform = 'instagram'"
    )
    assert len(kept) == 5  # one row per comment
    assert {r["comment_id"]: r["like_count"] for r in kept}["cm1"] == 7  # the later run wins


def test_tiers_including_boundary_and_hidden_followers(built_home: tuple[Path, DbtResult]) -> None:
    home, _ = built_home
    tiers = {
        r["creator_id"]: (r["followers"], r["tier"])
        for r in rows(home, "select creator_id, followers, tier from creator_scorecard")
    }
    assert tiers == {
        "c1": (100_000, "mid"),
        "c2": (1000, "nano"),  # 1,000 is the first nano count
        "c3": (None, "unknown"),  # hidden subscribers
        "c4": (999, "emerging"),
        "c5": (10_000, "micro"),  # Facebook: fan_count when followers_count is absent
    }


def test_engagement_rate_over_the_latest_12_posts(built_home: tuple[Path, DbtResult]) -> None:
    home, _ = built_home
    card = one(home, "select * from creator_scorecard where creator_id = 'c2'")
    # t1..t12 have 10k engagements on 1,000 followers; t13 (13th), t_old (100 days) and
    # t_hidden (unknown engagements) are left out: mean(0.01 x k, k = 1..12) = 0.065
    assert card["er_posts"] == 12
    assert card["engagement_rate"] == pytest.approx(0.065)
    assert card["view_engagement_rate"] == pytest.approx(780 / 78_000)
    # X: 900, 3 and 7 engagements on 999 followers
    x = one(home, "select * from creator_scorecard where creator_id = 'c4'")
    assert x["engagement_rate"] == pytest.approx((900 + 3 + 7) / 3 / 999)


def test_follower_growth_and_sentiment_of_the_instagram_account(
    built_home: tuple[Path, DbtResult],
) -> None:
    home, _ = built_home
    card = one(home, "select * from creator_scorecard where creator_id = 'c1'")
    assert card["follower_growth_30d"] == pytest.approx(100_000 / 80_000 - 1)
    # 5 comments: the two "nice pic" are spam (generic, left out of sentiment), the Spanish one
    # is unscored; of the 2 scored, 1 is positive and 1 negative
    assert card["spam_comments"] == 2 and card["unscored_comments"] == 1
    assert card["scored_comments"] == 2 and card["comments_30d"] == 5
    assert card["positive_comment_share"] == pytest.approx(0.5)
    assert card["negative_comment_share"] == pytest.approx(0.5)
    # authentic: cm1, cm2, cm3 (cm4/cm5 are the generic, duplicated "nice pic") -> 60
    assert card["comment_authenticity_score"] == pytest.approx(60.0)
    assert card["follow_ratio_score"] == pytest.approx(100 * (1 - 500 / 100_000))
    # spike 100 (steady), consistency 100 (alone in its tier): 0.3x100 + 0.3x100 + 0.25x60 + 0.15x99.5
    assert card["audience_quality_score"] == pytest.approx(30 + 30 + 15 + 0.15 * 99.5)


def test_hashtag_campaign_in_euros(built_home: tuple[Path, DbtResult]) -> None:
    home, _ = built_home
    bridge = rows(home, "select * from bridge_campaign_posts where campaign_id = 'cmp1'")
    # x1 carries #GlowUp in the window; x3 carries it before the start; x2 has no tag
    assert [(b["post_id"], b["attributed_by"]) for b in bridge] == [("x1", "hashtag")]
    row = one(home, "select * from fct_campaign_creator_performance where campaign_id = 'cmp1'")
    cost = 1000 * 1.08  # EUR on 11-10 falls back to the 11-07 rate
    assert row["cost_usd"] == pytest.approx(cost)
    assert row["engagements"] == 900  # 500 likes + 100 replies + (100 + 50) shares + 150 saves
    assert row["cpe_usd"] == pytest.approx(1.20)
    assert row["cpm_usd"] == pytest.approx(cost / 30_000 * 1000)
    assert row["cpv_usd"] == pytest.approx(cost / 30_000)
    emv = 500 * 0.30 + 100 * 0.50 + 150 * 0.50 + 150 * 0.50 + 30_000 / 1000 * 0.05
    assert row["emv_usd"] == pytest.approx(emv)
    revenue = 2000 * 1.10  # conversion without platform -> the creator's only platform
    assert row["conversions"] == 10
    assert row["revenue_usd"] == pytest.approx(revenue)
    assert row["roi"] == pytest.approx((revenue - cost) / cost)
    assert row["emv_roi"] == pytest.approx((emv - cost) / cost)
    post = one(home, "select campaign_id from fct_post_performance where post_id = 'x1'")
    assert post["campaign_id"] == "cmp1"


def test_zero_engagements_and_unknown_views_give_null_ratios(
    built_home: tuple[Path, DbtResult],
) -> None:
    home, _ = built_home
    row = one(home, "select * from fct_campaign_creator_performance where campaign_id = 'cmp2'")
    assert row["cost_usd"] == pytest.approx(500.0)
    assert row["engagements"] == 0
    assert row["cpe_usd"] is None  # 500 / 0
    assert row["views"] is None and row["cpm_usd"] is None  # Facebook reports no views
    assert row["roi"] == pytest.approx(-1.0)  # no conversions: revenue 0
    summary = one(home, "select * from campaign_summary where campaign_id = 'cmp2'")
    assert summary["cpe_usd"] is None


def test_platform_without_any_landed_file_builds_empty(built_home: tuple[Path, DbtResult]) -> None:
    home, _ = built_home
    # comments were never landed for facebook, tiktok, youtube and x: placeholders, no rows
    counts = {
        r["platform"]: r["n"]
        for r in rows(home, "select platform, count(*) as n from int_comments_unioned group by 1")
    }
    assert counts == {"instagram": 5}
    assert one(home, "select count(*) as n from stg_x__comments")["n"] == 0


def test_platform_comparison_has_a_row_per_tier_and_all(built_home: tuple[Path, DbtResult]) -> None:
    home, _ = built_home
    nov = rows(
        home,
        "select platform, tier, lag_index from platform_comparison "
        "where month = date '2026-11-01' order by platform, tier",
    )
    assert {(r["platform"], r["tier"]) for r in nov} == {
        ("facebook", "all"), ("facebook", "micro"),
        ("instagram", "all"), ("instagram", "mid"),
        ("tiktok", "all"), ("tiktok", "nano"),
        ("x", "all"), ("x", "emerging"),
        ("youtube", "all"), ("youtube", "unknown"),
    }  # fmt: skip
    assert all(0 <= r["lag_index"] <= 1 for r in nov)


def test_brand_matches_rank_every_account_once(built_home: tuple[Path, DbtResult]) -> None:
    home, _ = built_home
    matches = rows(home, "select * from brand_creator_matches order by rank")
    assert [m["rank"] for m in matches] == [1, 2, 3, 4, 5]
    assert {m["creator_id"] for m in matches} == {"c1", "c2", "c3", "c4", "c5"}
    scores = [m["fit_score"] for m in matches]
    assert scores == sorted(scores, reverse=True)
    c2 = next(m for m in matches if m["creator_id"] == "c2")
    assert c2["country_match"] == 0.0  # DE is not a target of b1 (US, FR)
    # a handful of past contracts is too few to learn from: the hand-weighted score says so
    assert {m["scorer"] for m in matches} == {"hand_weighted"}
    assert all(m["fit_score"] == m["hand_weighted_score"] for m in matches)
    assert all(m["predicted_cpe_usd"] is None for m in matches)
    backtest = {r["scorer"]: r for r in rows(home, "select * from matching_backtest")}
    assert set(backtest) == {"model", "hand_weighted"}
    assert backtest["model"]["spearman"] is None  # no model below the training threshold


def test_the_key_uniqueness_test_reports_each_repeated_key_once_and_no_collision(
    built_home: tuple[Path, DbtResult],
) -> None:
    """unique_combination_of_columns groups hashes first, then values (its doc): it must still
    name exactly the keys seen twice, NULLs grouping together as in a plain GROUP BY."""
    import json
    import subprocess

    from pipeline import transform

    home, _ = built_home
    keys = "('a', 'r1'), ('a', 'r1'), ('a', 'r2'), ('b', 'r1'), (null, 'r3'), (null, 'r3')"
    relation = f"(select * from (values {keys}) as t(comment_id, run_id))"
    sql = (
        '{{ test_unique_combination_of_columns(model="' + relation + '", '
        "combination_of_columns=['comment_id', 'run_id']) }}"
    )
    args = ["show", "--output", "json", "--log-format", "json", "--limit", "10", "--inline", sql]
    proc = subprocess.run(
        transform._dbt_command(home, args, home / "dbt" / "show"),
        env=transform._environment(home),
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stdout[-3000:]
    previews = [
        json.loads(line).get("data", {}).get("preview") for line in proc.stdout.splitlines()
    ]
    (preview,) = [p for p in previews if p]
    found = sorted(((r["comment_id"] or ""), r["run_id"], r["n"]) for r in json.loads(preview))
    assert found == [("", "r3", 2), ("a", "r1", 2)]
