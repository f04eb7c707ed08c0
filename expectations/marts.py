"""The gate's rules for each published mart: keys, ranges, accepted values, links.

The marts' columns and types are their dbt contracts (pipeline/published.py reads them from
the marts' YAML): the gate checks every contract column is present with its type family, so a
column added to a contract is checked with no edit here. Published columns are a public
interface: added, never renamed.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ingestion.records import PLATFORMS
from pipeline.published import PUBLISHED_SCHEMA

TIERS = ("emerging", "nano", "micro", "mid", "macro", "mega", "unknown")
ATTRIBUTIONS = ("post_id", "hashtag")

# Type families of DuckDB types (see type_family). Counts must stay integers; metrics may be
# any number type the SQL produces (DECIMAL from a division of decimals, DOUBLE elsewhere).
INT = ("integer",)
NUM = ("integer", "decimal", "float")
WIDENED = {"integer": INT, "decimal": NUM, "float": NUM}


@dataclass(frozen=True)
class Mart:
    """One published table's rules; its columns come from its dbt contract.

    ranges: column -> key of thresholds.yml `ranges`. accepted: column -> allowed values.
    platform_column: the column that says which platform a row belongs to (freshness, volume).
    """

    name: str
    key: tuple[str, ...]
    ranges: dict[str, str] = field(default_factory=dict)
    accepted: dict[str, tuple[str, ...]] = field(default_factory=dict)
    not_null: tuple[str, ...] = ()
    platform_column: str | None = "platform"

    @property
    def columns(self) -> dict[str, tuple[str, ...]]:
        """The contract's columns -> the type families the gate accepts for each."""
        return {
            column: WIDENED.get(family, (family,))
            for column, data_type in PUBLISHED_SCHEMA[self.name].items()
            for family in [type_family(data_type)]
        }

    @property
    def checked_columns(self) -> tuple[str, ...]:
        """The columns the mart's own suite validates (its batch holds only these)."""
        return tuple(dict.fromkeys([*self.key, *self.not_null, *self.ranges, *self.accepted]))


MARTS: dict[str, Mart] = {
    m.name: m
    for m in [
        Mart(
            "dim_creators",
            key=("creator_id",),
            platform_column=None,
        ),
        Mart(
            "dim_creator_accounts",
            key=("creator_id", "platform"),
            accepted={"platform": PLATFORMS},
        ),
        Mart(
            "fct_post_performance",
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
            key=("date", "creator_id", "platform"),
            # views/engagements gained in a day may be negative (platforms recount, likes are
            # withdrawn), so only the level columns are range-checked.
            ranges={"followers": "count", "posts_published": "count"},
            accepted={"platform": PLATFORMS},
        ),
        Mart(
            "creator_scorecard",
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
            key=("campaign_id", "platform", "post_id"),
            not_null=("attributed_by",),
            accepted={"platform": PLATFORMS, "attributed_by": ATTRIBUTIONS},
        ),
        Mart(
            "campaign_summary",
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
            key=("brand_id", "creator_id", "platform"),
            ranges={
                "fit_score": "score_0_100",
                "rank": "count",
                "hand_weighted_score": "score_0_100",
                "predicted_cpe_usd": "money",
            },
            accepted={"platform": PLATFORMS, "scorer": ("model", "hand_weighted")},
            not_null=("scorer",),
        ),
        Mart(
            "matching_backtest",
            key=("scorer",),
            ranges={
                "train_rows": "count",
                "test_rows": "count",
                "spearman": "correlation",
                "precision_at_10": "share_0_1",
            },
            accepted={"scorer": ("model", "hand_weighted")},
            platform_column=None,
        ),
    ]
}

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


def relationship_name(child: str, child_cols: tuple[str, ...], parent: str) -> str:
    """The name of a RELATIONSHIPS entry's orphan count in the gate's results."""
    return f"{child}__{'_'.join(child_cols)}__in__{parent}"


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
