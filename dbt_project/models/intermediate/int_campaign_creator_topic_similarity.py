"""Topic similarity of each past contract (campaign x creator account) as of the campaign's
start: TF-IDF cosine x 100 of the brand's campaigns known by then vs the account's captions
of the `match_caption_window_days` days before the start (kol_matching.topic_similarity_as_of).
"""

import pandas as pd
from kol_matching import columns, to_pandas, topic_similarity_as_of


def in_contract_windows(session, posts, contracts: pd.DataFrame, window_days: int):
    """Only the posts some contract's caption window holds, [start - window, start) of a
    contract of the same account: a day's build reads the contracts' posts (43% of a year's
    at small), not every account's whole history."""
    windows = contracts[["platform", "creator_id", "start_date"]].drop_duplicates()
    windows = session.from_df(
        windows.assign(start=pd.to_datetime(windows["start_date"]))[
            ["platform", "creator_id", "start"]
        ].dropna()
    )
    return posts.set_alias("posts").join(
        windows.set_alias("windows"),
        "posts.platform = windows.platform and posts.creator_id = windows.creator_id "
        f"and posts.published_at >= windows.start - interval {int(window_days)} day "
        "and posts.published_at < windows.start",
        how="semi",
    )


def model(dbt, session):
    dbt.config(materialized="table")
    window_days = int(dbt.config.get("caption_window_days"))
    campaigns = to_pandas(dbt.ref("stg_exports__campaigns"))
    links = to_pandas(dbt.ref("stg_exports__campaign_creators"))
    contracts = links[["campaign_id", "creator_id", "platform"]].merge(
        campaigns[["campaign_id", "brand_id", "start_date"]], on="campaign_id", how="inner"
    )
    posts = columns(
        in_contract_windows(session, dbt.ref("int_posts_unioned"), contracts, window_days),
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
