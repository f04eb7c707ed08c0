"""The published marts: the public interface BI users rely on (docs/metrics.md).

The dbt project tags exactly these models `published`; a test checks the two agree, so the
list is maintained once here for the gate and the publisher and verified against dbt.
"""

from __future__ import annotations

PUBLISHED_TABLES: tuple[str, ...] = (
    "dim_creators",
    "dim_creator_accounts",
    "fct_post_performance",
    "fct_creator_daily",
    "creator_scorecard",
    "fct_campaign_creator_performance",
    "bridge_campaign_posts",
    "campaign_summary",
    "platform_comparison",
    "brand_creator_matches",
)
