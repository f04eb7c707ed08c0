"""Topic similarity of each past contract (campaign x creator account) as of the campaign's
start: TF-IDF cosine x 100 of the brand's campaigns known by then vs the account's captions
of the `match_caption_window_days` days before the start (kol_matching.topic_similarity_as_of).
"""

import pandas as pd
from kol_matching import columns, to_pandas, topic_similarity_as_of


def in_contract_windows(posts, start_dates: pd.Series, window_days: int):
    """Only the posts some contract's caption window can hold, [first start - window, last
    start): a day's build then reads the campaigns' span of posts, not the whole history."""
    starts = pd.to_datetime(start_dates).dropna()
    if starts.empty:
        return posts
    lo = (starts.min() - pd.Timedelta(days=window_days)).strftime("%Y-%m-%d %H:%M:%S")
    hi = starts.max().strftime("%Y-%m-%d %H:%M:%S")
    return posts.filter(f"published_at >= timestamp '{lo}' and published_at < timestamp '{hi}'")


def model(dbt, session):
    dbt.config(materialized="table")
    window_days = int(dbt.config.get("caption_window_days"))
    campaigns = to_pandas(dbt.ref("stg_exports__campaigns"))
    links = to_pandas(dbt.ref("stg_exports__campaign_creators"))
    contracts = links[["campaign_id", "creator_id", "platform"]].merge(
        campaigns[["campaign_id", "brand_id", "start_date"]], on="campaign_id", how="inner"
    )
    posts = columns(
        in_contract_windows(dbt.ref("int_posts_unioned"), contracts["start_date"], window_days),
        ["platform", "creator_id", "published_at", "caption", "hashtags"],
    )
    brands = to_pandas(dbt.ref("stg_exports__brands"))
    frame = topic_similarity_as_of(contracts, campaigns, brands, posts, window_days)
    return frame.astype(
        {
            "campaign_id": "string",
            "creator_id": "string",
            "platform": "string",
            "topic_similarity": "float64",
        }
    )
