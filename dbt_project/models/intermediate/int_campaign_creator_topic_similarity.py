"""Topic similarity of each past contract (campaign x creator account) as of the campaign's
start: TF-IDF cosine x 100 of the brand's campaigns known by then vs the account's captions
of the `match_caption_window_days` days before the start (kol_matching.topic_similarity_as_of).
"""

from kol_matching import columns, to_pandas, topic_similarity_as_of


def model(dbt, session):
    dbt.config(materialized="table")
    window_days = int(dbt.config.get("caption_window_days"))
    campaigns = to_pandas(dbt.ref("stg_exports__campaigns"))
    links = to_pandas(dbt.ref("stg_exports__campaign_creators"))
    contracts = links[["campaign_id", "creator_id", "platform"]].merge(
        campaigns[["campaign_id", "brand_id", "start_date"]], on="campaign_id", how="inner"
    )
    posts = columns(
        dbt.ref("int_posts_unioned"),
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
