"""The demo summary a person reads: complete month, names, distinct campaigns (pipeline/report.py)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipeline import report


def marts(path: Path, as_of: date, months: list[date]) -> Path:
    db = path / "marts.duckdb"
    with duckdb.connect(str(db)) as con:
        con.execute(
            "create table creator_scorecard as select ?::date as as_of_date, 'c1' as creator_id, "
            "'x' as platform, 'nano' as tier, 5000::bigint as followers, 0.05 as engagement_rate, "
            "80.0 as audience_quality_score, 50.0 as er_percentile_in_tier, "
            "0.02 as follower_growth_7d, 0.001 as engagement_trend",
            [as_of],
        )
        con.execute(
            "create table dim_creators as select 'c1' as creator_id, 'Ana Lima' as display_name"
        )
        con.execute(
            "create table platform_comparison (month date, platform varchar, tier varchar, "
            "lag_index double, median_engagement_rate double, new_creators integer, "
            "niche_diversity_index double, avg_sentiment double, median_cpe_usd double, "
            "median_follower_growth_7d double, median_engagement_trend double)"
        )
        for m in months:
            con.execute(
                "insert into platform_comparison values (?, 'x', 'all', 0.5, 0.05, ?, 0.9, 0.2, 1.0, 0.01, 0.0)",
                [m, m.month],
            )
        con.execute(
            "create table campaign_summary as select * from (values "
            "('k1', 'Terra Launch 2026', 'terralaunch1', 100.0, 200.0, 1.0, 2.0, 10.0, 1.0), "
            "('k2', 'Terra Launch 2026', 'terralaunch2', 100.0, 100.0, 0.0, 2.0, 10.0, 0.5), "
            "('k3', 'Solo Glow 2026', 'sologlow1', 100.0, 50.0, -0.5, 2.0, 10.0, 0.0)) "
            "as t(campaign_id, name, hashtag, cost_usd, revenue_usd, roi, cpe_usd, cpm_usd, "
            "views_cost_coverage)"
        )
    return db


def test_the_ranking_shows_the_latest_month_that_is_over(tmp_path: Path) -> None:
    db = marts(tmp_path, date(2026, 12, 1), [date(2026, 11, 1), date(2026, 12, 1)])
    assert report.ranking_month(db) == (date(2026, 11, 1), True)


def test_a_month_not_over_is_shown_only_when_it_is_the_only_one(tmp_path: Path) -> None:
    db = marts(tmp_path, date(2026, 12, 1), [date(2026, 12, 1)])
    assert report.ranking_month(db) == (date(2026, 12, 1), False)


@pytest.mark.parametrize("as_of", [date(2026, 11, 30)])
def test_a_month_ending_on_the_as_of_date_is_complete(tmp_path: Path, as_of: date) -> None:
    db = marts(tmp_path, as_of, [date(2026, 10, 1), date(2026, 11, 1)])
    assert report.ranking_month(db) == (date(2026, 11, 1), True)


def test_creators_by_display_name_and_campaign_names_told_apart(tmp_path: Path) -> None:
    db = marts(tmp_path, date(2026, 12, 1), [date(2026, 11, 1)])
    assert "Ana Lima" in report.top_creators(db)
    assert "+0.10 pp" in report.top_creators(db)  # ER trend 0.001 per week
    campaigns = report.campaign_roi(db)
    assert "Terra Launch 2026 #terralaunch1" in campaigns
    assert "Terra Launch 2026 #terralaunch2" in campaigns
    assert "Solo Glow 2026 " in campaigns + " " and "Solo Glow 2026 #" not in campaigns


def test_coverage_counts_accounts_refreshed_on_d_older_and_never(tmp_path: Path) -> None:
    db = marts(tmp_path, date(2026, 12, 1), [date(2026, 11, 1)])
    with duckdb.connect(str(db)) as con:
        con.execute(
            "create table dim_creator_accounts as select * from (values "
            "('x', date '2026-12-01'), ('x', date '2026-11-28'), ('x', null), "
            "('youtube', date '2026-12-01')) as t(platform, data_as_of)"
        )
    lines = report.coverage(db).splitlines()
    x = next(line.split() for line in lines if line.split()[:1] == ["x"])
    youtube = next(line.split() for line in lines if line.split()[:1] == ["youtube"])
    assert x == ["x", "3", "1", "1", "1", "2026-11-28"]
    assert youtube == ["youtube", "1", "1", "0", "0", "2026-12-01"]
