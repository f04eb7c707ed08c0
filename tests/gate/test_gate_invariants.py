"""The numbers' own rules, counted in a real DuckDB warehouse (expectations/invariants.py)."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from expectations.invariants import measure

RUN_DATE = date(2026, 11, 24)


@pytest.fixture
def con():
    connection = duckdb.connect()
    yield connection
    connection.close()


def broken(con: duckdb.DuckDBPyConnection) -> dict[str, int]:
    types = {
        table: {c: t for c, t, *_ in con.execute(f'describe "{table}"').fetchall()}
        for (table,) in con.execute("select table_name from information_schema.tables").fetchall()
    }
    return {rule.name: n for rule, n in measure(con, RUN_DATE, types)}


def test_inf_and_nan_are_counted_per_float_column_of_a_published_mart(con) -> None:
    con.execute(
        "create table creator_scorecard as select * from (values "
        "(0.1, 10::bigint), ('inf'::double, 20), ('nan'::double, 30), (null, null)) "
        "as t(engagement_rate, followers)"
    )
    con.execute("create table int_scratch as select 'inf'::double as x")  # not published
    assert broken(con) == {"creator_scorecard__engagement_rate__not_finite": 2}


def test_instagram_insights_may_fall_only_when_the_platform_said_so(con) -> None:
    con.execute(
        "create table int_post_metrics_daily as select * from (values "
        # p1: views known on 11-23, NULL on 11-24 while not re-fetched -> broken
        "('instagram', 'p1', date '2026-11-23', null::date, date '2026-11-23', 100, 80, 5, 2),"
        "('instagram', 'p1', date '2026-11-24', date '2026-11-23', date '2026-11-23', null, 80, 5, 2),"
        # p2: the platform answered lower views on 11-24 -> its own count, kept
        "('instagram', 'p2', date '2026-11-23', null, date '2026-11-23', 100, 80, 5, 2),"
        "('instagram', 'p2', date '2026-11-24', date '2026-11-23', date '2026-11-24', 90, 80, 5, 2),"
        # p3: carried unchanged -> kept; p4: carried but lower saves -> broken
        "('instagram', 'p3', date '2026-11-23', null, date '2026-11-23', 100, 80, 5, 2),"
        "('instagram', 'p3', date '2026-11-24', date '2026-11-23', date '2026-11-23', 100, 80, 5, 2),"
        "('instagram', 'p4', date '2026-11-23', null, date '2026-11-23', 100, 80, 5, 2),"
        "('instagram', 'p4', date '2026-11-24', date '2026-11-23', date '2026-11-23', 100, 80, 4, 2))"
        " as t(platform, post_id, snapshot_date, previous_snapshot_date, insights_as_of,"
        " views, reach, saves, shares)"
    )
    counts = broken(con)
    assert counts["int_post_metrics_daily__instagram_insights_lost_without_the_platform"] == 2


def test_campaign_ratios_cover_the_same_rows(con) -> None:
    con.execute(
        "create table fct_campaign_creator_performance as select * from (values "
        "('k1', 100.0, 4000, 40, 1.0, 1.0, 25.0, 0.025, null, 2.5),"
        "('k1', 300.0, null, 60, 0.0, 1.0, null, null, null, 5.0),"
        # a CPM over views that do not cover the row's posts: broken
        "('k2', 100.0, 1000, 10, 0.0, 1.0, 100.0, 0.1, null, 10.0))"
        " as t(campaign_id, cost_usd, views, engagements, views_cost_coverage,"
        " engagements_cost_coverage, cpm_usd, cpv_usd, ctr, cpe_usd)"
    )
    con.execute(
        "create table campaign_summary as select * from (values "
        # k1 priced right: CPM 100 / 4,000 x 1000 = 25, CPE 400 / 100 = 4
        "('k1', 25.0, 4.0),"
        # k2 divides all the cost by views of no covered row: broken
        "('k2', 100.0, 10.0))"
        " as t(campaign_id, cpm_usd, cpe_usd)"
    )
    counts = broken(con)
    assert counts["fct_campaign_creator_performance__ratio_over_uncovered_rows"] == 1
    assert counts["campaign_summary__ratio_not_over_the_same_rows"] == 1


def test_no_percentile_from_a_group_below_the_minimum(con) -> None:
    con.execute(
        "create table percentile_min_peers as select * from (values "
        "('er_percentile_in_tier', 3), ('price_efficiency', 3)) as t(percentile, min_peers)"
    )
    con.execute(
        "create table creator_scorecard as select * from (values "
        # x nano: 3 accounts with an ER -> percentiles allowed, peers 3
        "('x', 'nano', 0.1, 0.0, 3), ('x', 'nano', 0.2, 50.0, 3), ('x', 'nano', 0.3, 100.0, 3),"
        # tiktok nano: one account ranked alone -> broken
        "('tiktok', 'nano', 0.1, 0.0, 1),"
        # youtube mid: a group size that is not the group's -> broken
        "('youtube', 'mid', 0.1, null, 5))"
        " as t(platform, tier, engagement_rate, er_percentile_in_tier, er_percentile_peers)"
    )
    con.execute(
        "create table brand_creator_matches as select * from (values "
        "(100.0, 1), (null, 1), (50.0, 3)) as t(price_efficiency, price_efficiency_peers)"
    )
    counts = broken(con)
    assert counts["creator_scorecard__percentile_from_a_small_group"] == 2
    assert counts["brand_creator_matches__percentile_from_a_small_group"] == 1
