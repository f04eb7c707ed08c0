"""The published marts as the gate knows them: documented columns, types, keys, ranges, links.

This mirrors the published marts of docs/metrics.md (a public interface: columns are added, never
renamed). The gate keys on these columns only, so the dbt project may add columns freely.
"""

from __future__ import annotations

from dataclasses import dataclass, field

PLATFORMS = ("instagram", "facebook", "tiktok", "youtube", "x")
TIERS = ("emerging", "nano", "micro", "mid", "macro", "mega", "unknown")
ATTRIBUTIONS = ("post_id", "hashtag")

# Type families of DuckDB types (see type_family). Counts must stay integers; metrics may be
# any number type the SQL produces (DECIMAL from a division of decimals, DOUBLE elsewhere).
INT = ("integer",)
NUM = ("integer", "decimal", "float")
TEXT = ("text",)
DATE = ("date",)
TS = ("timestamp",)


@dataclass(frozen=True)
class Mart:
    """One published table: its documented columns (name -> allowed type families) and rules.

    ranges: column -> key of thresholds.yml `ranges`. accepted: column -> allowed values.
    platform_column: the column that says which platform a row belongs to (freshness, volume).
    """

    name: str
    columns: dict[str, tuple[str, ...]]
    key: tuple[str, ...]
    ranges: dict[str, str] = field(default_factory=dict)
    accepted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    not_null: tuple[str, ...] = ()
    platform_column: str | None = "platform"

    @property
    def checked_columns(self) -> tuple[str, ...]:
        """The columns the mart's own suite validates (its batch holds only these)."""
        return tuple(dict.fromkeys([*self.key, *self.not_null, *self.ranges, *self.accepted]))


MARTS: dict[str, Mart] = {
    m.name: m
    for m in [
        Mart(
            "dim_creators",
            {
                "creator_id": TEXT,
                "display_name": TEXT,
                "niche": TEXT,
                "country": TEXT,
                "language": TEXT,
                "platforms": ("text", "list"),
            },
            key=("creator_id",),
            platform_column=None,
        ),
        Mart(
            "dim_creator_accounts",
            {"creator_id": TEXT, "platform": TEXT, "account_id": TEXT, "handle": TEXT},
            key=("creator_id", "platform"),
            accepted={"platform": PLATFORMS},
        ),
        Mart(
            "fct_post_performance",
            {
                "post_id": TEXT,
                "platform": TEXT,
                "creator_id": TEXT,
                "published_at": TS,
                "as_of_date": DATE,
                "views": INT,
                "likes": INT,
                "comments": INT,
                "shares": INT,
                "saves": INT,
                "engagements": INT,
                "emv_usd": NUM,
                "campaign_id": TEXT,
            },
            key=("platform", "post_id"),
            not_null=("creator_id", "published_at"),
            ranges={
                **dict.fromkeys(("views", "likes", "comments", "shares", "saves"), "count"),
                "engagements": "count",
                "emv_usd": "money",
            },
            accepted={"platform": PLATFORMS},
        ),
        Mart(
            "fct_creator_daily",
            {
                "date": DATE,
                "creator_id": TEXT,
                "platform": TEXT,
                "followers": INT,
                "followers_change": INT,
                "posts_published": INT,
                "views": INT,
                "engagements": INT,
            },
            key=("date", "creator_id", "platform"),
            # views/engagements gained in a day may be negative (platforms recount, likes are
            # withdrawn), so only the level columns are range-checked.
            ranges={"followers": "count", "posts_published": "count"},
            accepted={"platform": PLATFORMS},
        ),
        Mart(
            "creator_scorecard",
            {
                "as_of_date": DATE,
                "creator_id": TEXT,
                "platform": TEXT,
                "followers": INT,
                "tier": TEXT,
                "engagement_rate": NUM,
                "view_engagement_rate": NUM,
                "er_percentile_in_tier": NUM,
                "follower_growth_30d": NUM,
                "audience_quality_score": NUM,
                "sentiment_score": NUM,
                "positive_comment_share": NUM,
            },
            key=("creator_id", "platform"),
            not_null=("as_of_date", "tier"),
            ranges={
                "followers": "count",
                "engagement_rate": "engagement_rate",
                "view_engagement_rate": "view_engagement_rate",
                "er_percentile_in_tier": "score_0_100",
                "follower_growth_30d": "growth",
                "audience_quality_score": "score_0_100",
                "sentiment_score": "sentiment",
                "positive_comment_share": "share_0_1",
            },
            accepted={"platform": PLATFORMS, "tier": TIERS},
        ),
        Mart(
            "fct_campaign_creator_performance",
            {
                "campaign_id": TEXT,
                "creator_id": TEXT,
                "platform": TEXT,
                "posts": INT,
                "views": INT,
                "engagements": INT,
                "cost_usd": NUM,
                "cpm_usd": NUM,
                "cpe_usd": NUM,
                "cpv_usd": NUM,
                "emv_usd": NUM,
                "conversions": INT,
                "revenue_usd": NUM,
                "roi": NUM,
                "emv_roi": NUM,
                "sentiment_score": NUM,
            },
            key=("campaign_id", "creator_id", "platform"),
            ranges={
                **dict.fromkeys(("posts", "views", "engagements", "conversions"), "count"),
                **dict.fromkeys(
                    ("cost_usd", "cpm_usd", "cpe_usd", "cpv_usd", "emv_usd", "revenue_usd"),
                    "money",
                ),
                "roi": "roi",
                "emv_roi": "roi",
                "sentiment_score": "sentiment",
            },
            accepted={"platform": PLATFORMS},
        ),
        Mart(
            "bridge_campaign_posts",
            {
                "campaign_id": TEXT,
                "post_id": TEXT,
                "creator_id": TEXT,
                "platform": TEXT,
                "attributed_by": TEXT,
            },
            key=("campaign_id", "platform", "post_id"),
            not_null=("attributed_by",),
            accepted={"platform": PLATFORMS, "attributed_by": ATTRIBUTIONS},
        ),
        Mart(
            "campaign_summary",
            {
                "campaign_id": TEXT,
                "brand_id": TEXT,
                "name": TEXT,
                "start_date": DATE,
                "end_date": DATE,
                "creators": INT,
                "posts": INT,
                "cost_usd": NUM,
                "views": INT,
                "engagements": INT,
                "emv_usd": NUM,
                "revenue_usd": NUM,
                "roi": NUM,
                "cpe_usd": NUM,
            },
            key=("campaign_id",),
            ranges={
                **dict.fromkeys(("creators", "posts", "views", "engagements"), "count"),
                **dict.fromkeys(("cost_usd", "emv_usd", "revenue_usd", "cpe_usd"), "money"),
                "roi": "roi",
            },
            platform_column=None,
        ),
        Mart(
            "platform_comparison",
            {
                "month": ("date", "timestamp", "text"),
                "platform": TEXT,
                "tier": TEXT,
                "active_creators": INT,
                "new_creators": INT,
                "median_engagement_rate": NUM,
                "median_follower_growth": NUM,
                "niche_diversity_index": NUM,
                "long_tail_share": NUM,
                "avg_sentiment": NUM,
                "median_cpe_usd": NUM,
                "authentic_share": NUM,
                "lag_index": NUM,
            },
            key=("month", "platform", "tier"),
            ranges={
                "active_creators": "count",
                "new_creators": "count",
                "median_engagement_rate": "engagement_rate",
                "median_follower_growth": "growth",
                "niche_diversity_index": "share_0_1",
                "long_tail_share": "share_0_1",
                "avg_sentiment": "sentiment",
                "median_cpe_usd": "money",
                "authentic_share": "share_0_1",
                "lag_index": "share_0_1",
            },
            accepted={"platform": PLATFORMS, "tier": (*TIERS, "all")},
        ),
        Mart(
            "brand_creator_matches",
            {
                "brand_id": TEXT,
                "creator_id": TEXT,
                "platform": TEXT,
                "fit_score": NUM,
                "rank": INT,
            },
            key=("brand_id", "creator_id", "platform"),
            ranges={"fit_score": "score_0_100", "rank": "count"},
            accepted={"platform": PLATFORMS},
        ),
    ]
}
PUBLISHED_TABLES: tuple[str, ...] = tuple(MARTS)

# Referential integrity between marts: (child table, child columns, parent table, parent columns).
# Child rows with a NULL in the child columns are not orphans (e.g. a post in no campaign).
RELATIONSHIPS: tuple[tuple[str, tuple[str, ...], str, tuple[str, ...]], ...] = (
    ("dim_creator_accounts", ("creator_id",), "dim_creators", ("creator_id",)),
    ("creator_scorecard", ("creator_id",), "dim_creators", ("creator_id",)),
    (
        "creator_scorecard",
        ("creator_id", "platform"),
        "dim_creator_accounts",
        ("creator_id", "platform"),
    ),
    ("fct_post_performance", ("creator_id",), "dim_creators", ("creator_id",)),
    ("fct_post_performance", ("campaign_id",), "campaign_summary", ("campaign_id",)),
    ("fct_creator_daily", ("creator_id",), "dim_creators", ("creator_id",)),
    (
        "bridge_campaign_posts",
        ("platform", "post_id"),
        "fct_post_performance",
        ("platform", "post_id"),
    ),
    ("bridge_campaign_posts", ("campaign_id",), "campaign_summary", ("campaign_id",)),
    ("fct_campaign_creator_performance", ("campaign_id",), "campaign_summary", ("campaign_id",)),
    ("fct_campaign_creator_performance", ("creator_id",), "dim_creators", ("creator_id",)),
    ("brand_creator_matches", ("creator_id",), "dim_creators", ("creator_id",)),
)


def type_family(duckdb_type: str) -> str:
    """Collapse a DuckDB type name to the family the gate checks (INTEGER, BIGINT -> integer)."""
    t = duckdb_type.upper()
    if t.endswith("[]") or t.startswith(("LIST", "STRUCT", "MAP")):
        return "list"
    if t.startswith("DECIMAL"):
        return "decimal"
    if t.removeprefix("U") in {"TINYINT", "SMALLINT", "INTEGER", "BIGINT", "HUGEINT"}:
        return "integer"
    if t in {"DOUBLE", "FLOAT", "REAL"}:
        return "float"
    if t == "VARCHAR" or t.startswith("VARCHAR"):
        return "text"
    if t == "DATE":
        return "date"
    if t.startswith("TIMESTAMP"):
        return "timestamp"
    if t == "BOOLEAN":
        return "boolean"
    return t.lower()
