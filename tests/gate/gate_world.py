"""A tiny hand-built warehouse with the published marts, for the gate and publish tests.

Independently of a dbt build, the gate is tested against tables created here with the columns
the checks need, completed with every other column of the marts' dbt contracts (NULL), plus an
extra column and non-published tables (raw comments with text, a token table) that must never
reach serving/.
"""

from __future__ import annotations

import hashlib
from datetime import date, timedelta
from pathlib import Path

import duckdb

from ingestion.records import PLATFORMS
from pipeline.published import PUBLISHED_SCHEMA

RUN_DATE = date(2026, 11, 24)
ACCOUNTS = {  # creator -> platforms
    "c1": ("instagram", "tiktok"),
    "c2": ("instagram", "youtube"),
    "c3": ("tiktok", "x"),
    "c4": ("facebook", "x"),
    "c5": ("youtube", "facebook"),
    "c6": ("instagram", "x", "tiktok"),
}

DDL = """
CREATE TABLE dim_creators (creator_id VARCHAR, display_name VARCHAR, niche VARCHAR,
  country VARCHAR, language VARCHAR, platforms VARCHAR, extra_note VARCHAR);
CREATE TABLE dim_creator_accounts (creator_id VARCHAR, platform VARCHAR, account_id VARCHAR,
  handle VARCHAR);
CREATE TABLE fct_post_performance (post_id VARCHAR, platform VARCHAR, creator_id VARCHAR,
  published_at TIMESTAMPTZ, as_of_date DATE, views BIGINT, likes BIGINT, comments BIGINT,
  shares BIGINT, saves BIGINT, engagements BIGINT, emv_usd DOUBLE, campaign_id VARCHAR);
CREATE TABLE fct_creator_daily (date DATE, creator_id VARCHAR, platform VARCHAR,
  followers BIGINT, followers_change BIGINT, posts_published INTEGER, views BIGINT,
  engagements BIGINT);
CREATE TABLE creator_scorecard (as_of_date DATE, creator_id VARCHAR, platform VARCHAR,
  followers BIGINT, tier VARCHAR, engagement_rate DOUBLE, view_engagement_rate DOUBLE,
  er_percentile_in_tier DOUBLE, follower_growth_30d DOUBLE, audience_quality_score DOUBLE,
  sentiment_score DOUBLE, positive_comment_share DOUBLE);
CREATE TABLE fct_campaign_creator_performance (campaign_id VARCHAR, creator_id VARCHAR,
  platform VARCHAR, posts BIGINT, views BIGINT, engagements BIGINT, cost_usd DOUBLE,
  cpm_usd DOUBLE, cpe_usd DOUBLE, cpv_usd DOUBLE, emv_usd DOUBLE, conversions BIGINT,
  revenue_usd DOUBLE, roi DOUBLE, emv_roi DOUBLE, sentiment_score DOUBLE);
CREATE TABLE bridge_campaign_posts (campaign_id VARCHAR, post_id VARCHAR, creator_id VARCHAR,
  platform VARCHAR, attributed_by VARCHAR);
CREATE TABLE campaign_summary (campaign_id VARCHAR, brand_id VARCHAR, name VARCHAR,
  start_date DATE, end_date DATE, creators BIGINT, posts BIGINT, cost_usd DOUBLE,
  views BIGINT, engagements BIGINT, emv_usd DOUBLE, revenue_usd DOUBLE, roi DOUBLE,
  cpe_usd DOUBLE);
CREATE TABLE platform_comparison (month DATE, platform VARCHAR, tier VARCHAR,
  active_creators BIGINT, new_creators BIGINT, median_engagement_rate DOUBLE,
  median_follower_growth DOUBLE, niche_diversity_index DOUBLE, long_tail_share DOUBLE,
  avg_sentiment DOUBLE, median_cpe_usd DOUBLE, authentic_share DOUBLE, lag_index DOUBLE);
CREATE TABLE brand_creator_matches (brand_id VARCHAR, creator_id VARCHAR, platform VARCHAR,
  fit_score DOUBLE, rank BIGINT, topic_similarity DOUBLE, scorer VARCHAR DEFAULT 'hand_weighted',
  hand_weighted_score DOUBLE, predicted_cpe_usd DOUBLE);
CREATE TABLE matching_backtest (scorer VARCHAR, split_date DATE, train_rows INTEGER,
  test_rows INTEGER, spearman DOUBLE, precision_at_10 DOUBLE);
-- not published: must never reach serving/
CREATE TABLE stg_comments (comment_id VARCHAR, post_id VARCHAR, text VARCHAR);
CREATE TABLE raw_secrets (platform VARCHAR, access_token VARCHAR);
"""


def followers_of(creator: str, platform: str) -> int:
    """Deterministic follower counts spread over tiers (nano to mid)."""
    return 2_000 * int(creator[1:]) * (PLATFORMS.index(platform) + 1)


def tier_of(followers: int) -> str:
    for bound, name in ((1_000, "emerging"), (10_000, "nano"), (50_000, "micro"), (500_000, "mid")):
        if followers < bound:
            return name
    return "macro"


def build_warehouse(path: Path, run_date: date = RUN_DATE, *, days: int = 3) -> Path:
    """Write a consistent warehouse as of run_date (daily rows for the last `days` days)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    con = duckdb.connect(str(path))
    try:
        con.execute(DDL)
        _fill(con, run_date, days)
        _complete_contracts(con)
        _cover_campaign_ratios(con)
    finally:
        con.close()
    return path


def _fill(con: duckdb.DuckDBPyConnection, run_date: date, days: int) -> None:
    d = run_date.isoformat()
    for creator, platforms in ACCOUNTS.items():
        n = int(creator[1:])
        con.execute(
            "INSERT INTO dim_creators VALUES (?, ?, ?, 'US', 'en', ?, NULL)",
            [
                creator,
                f"Creator {n}",
                ("beauty", "gaming", "food")[n % 3],
                ",".join(sorted(platforms)),
            ],
        )
        for platform in platforms:
            f = followers_of(creator, platform)
            er = 0.01 * n
            con.execute(
                "INSERT INTO dim_creator_accounts VALUES (?, ?, ?, ?)",
                [creator, platform, f"{platform}-{creator}", f"@{creator}_{platform}"],
            )
            con.execute(
                "INSERT INTO creator_scorecard VALUES (?, ?, ?, ?, ?, ?, 0.05, 50, 0.02, 80, "
                "0.3, 0.6)",
                [d, creator, platform, f, tier_of(f), er],
            )
            for back in range(days):
                day = run_date - timedelta(days=back)
                con.execute(
                    "INSERT INTO fct_creator_daily VALUES (?, ?, ?, ?, 10, 1, 100, 5)",
                    [day, creator, platform, f - 10 * back],
                )
            for k in range(2):
                post = f"{platform}-{creator}-p{k}"
                campaign = "k1" if (creator, platform, k) == ("c1", "instagram", 0) else None
                con.execute(
                    "INSERT INTO fct_post_performance VALUES (?, ?, ?, ?, ?, 1000, 100, 10, 5, "
                    "2, 117, 38.5, ?)",
                    [
                        post,
                        platform,
                        creator,
                        f"{run_date - timedelta(days=k + 1)} 12:00:00+00",
                        d,
                        campaign,
                    ],
                )
            con.execute(
                "INSERT INTO brand_creator_matches (brand_id, creator_id, platform, fit_score, "
                "rank, topic_similarity) VALUES ('b1', ?, ?, ?, 0, 0.4)",
                [creator, platform, 50.0 + n],
            )
    con.execute(
        "UPDATE brand_creator_matches SET rank = r FROM (SELECT creator_id c, platform p, "
        "row_number() OVER (ORDER BY fit_score DESC) r FROM brand_creator_matches) "
        "WHERE creator_id = c AND platform = p"
    )
    con.execute(
        "INSERT INTO matching_backtest VALUES ('model', ?, 40, 20, 0.7, 0.5), "
        "('hand_weighted', ?, 40, 20, 0.3, 0.2)",
        [run_date - timedelta(days=30)] * 2,
    )
    con.execute(
        "INSERT INTO fct_campaign_creator_performance VALUES ('k1', 'c1', 'instagram', 1, 1000, "
        "117, 500, 500, 4.27, 0.5, 38.5, 3, 900, 0.8, -0.923, 0.4)"
    )
    con.execute(
        "INSERT INTO bridge_campaign_posts VALUES ('k1', 'instagram-c1-p0', 'c1', "
        "'instagram', 'post_id')"
    )
    con.execute(
        "INSERT INTO campaign_summary VALUES ('k1', 'b1', 'Launch', ?, ?, 1, 1, 500, 1000, 117, "
        "38.5, 900, 0.8, 4.27)",
        [run_date - timedelta(days=10), run_date + timedelta(days=10)],
    )
    month = run_date.replace(day=1)
    for i, platform in enumerate(PLATFORMS):
        for tier in ("all", "micro"):
            con.execute(
                "INSERT INTO platform_comparison VALUES (?, ?, ?, 3, 1, 0.03, 0.02, 0.8, 0.5, "
                "0.2, 4.0, 0.7, ?)",
                [month, platform, tier, i / 4],
            )
    con.execute("INSERT INTO stg_comments VALUES ('cm1', 'instagram-c1-p0', 'love it')")
    con.execute("INSERT INTO raw_secrets VALUES ('x', 'SECRET-TOKEN-VALUE')")


def _complete_contracts(con: duckdb.DuckDBPyConnection) -> None:
    """Add each contract column the DDL above leaves out, as NULLs of its contract type."""
    for table, columns in PUBLISHED_SCHEMA.items():
        present = {row[0] for row in con.execute(f'DESCRIBE "{table}"').fetchall()}
        for column, data_type in columns.items():
            if column not in present:
                con.execute(f'ALTER TABLE "{table}" ADD COLUMN "{column}" {data_type}')


def _cover_campaign_ratios(con: duckdb.DuckDBPyConnection) -> None:
    """The one campaign's views and engagements are known on its one post: its ratios cover
    all of its cost (cpm 500 / 1000 views x 1000 = 500, cpe 500 / 117 engagements)."""
    for table in ("fct_campaign_creator_performance", "campaign_summary"):
        con.execute(
            f"UPDATE {table} SET views_cost_coverage = 1.0, engagements_cost_coverage = 1.0, "
            "cpm_usd = 500.0, cpv_usd = 0.5, cpe_usd = 500.0 / 117"
        )


def mutate(path: Path, *sql: str) -> Path:
    """Apply SQL to a warehouse copy (the test's way of breaking a source)."""
    con = duckdb.connect(str(path))
    try:
        for statement in sql:
            con.execute(statement)
    finally:
        con.close()
    return path


def write_landing_accounts(landing: Path, run_date: date, platforms: tuple[str, ...]) -> None:
    """Land account records for run_date in the records.py schemas (counts from followers_of)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from ingestion.records import api_schema

    follower_column = {
        "instagram": "followers_count",
        "facebook": "followers_count",
        "tiktok": "follower_count",
        "youtube": "subscriber_count",
        "x": "followers_count",
    }
    for platform in platforms:
        schema = api_schema("accounts", platform)
        rows = [
            {
                "creator_id": creator,
                "account_id": f"{platform}-{creator}",
                "snapshot_date": run_date,
                "run_id": "landing-test",
                follower_column[platform]: followers_of(creator, platform),
            }
            for creator, owned in ACCOUNTS.items()
            if platform in owned
        ]
        folder = landing / "records" / "accounts" / f"platform={platform}" / f"dt={run_date}"
        folder.mkdir(parents=True, exist_ok=True)
        pq.write_table(pa.Table.from_pylist(rows, schema=schema), folder / "part-test.parquet")


def file_sha256(path: Path) -> str:
    """sha256 of a file's bytes: proves a failed gate or publish left the serving file untouched."""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()
