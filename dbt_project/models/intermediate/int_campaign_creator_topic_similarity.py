"""Topic similarity of each past contract (campaign x creator account) as of the campaign's
start: TF-IDF cosine x 100 of the brand's campaigns known by then vs the account's captions
of the `match_caption_window_days` days before the start (kol_matching.topic_similarity_as_of).
The account documents are joined and concatenated in DuckDB (kol_matching.account_documents):
only the posts some contract's caption window holds are read, never pandas-sliced per account.
"""

from kol_matching import account_documents, to_pandas, topic_similarity_as_of


def model(dbt, session):
    dbt.config(materialized="table")
    window_days = int(dbt.config.get("caption_window_days"))
    campaigns = to_pandas(dbt.ref("stg_exports__campaigns"))
    links = to_pandas(dbt.ref("stg_exports__campaign_creators"))
    contracts = links[["campaign_id", "creator_id", "platform"]].merge(
        campaigns[["campaign_id", "brand_id", "start_date"]], on="campaign_id", how="inner"
    )
    posts = dbt.ref("int_posts_unioned")
    docs = account_documents(session, posts, contracts, window_days)
    brands = to_pandas(dbt.ref("stg_exports__brands"))
    frame = topic_similarity_as_of(contracts, campaigns, brands, docs)
    return frame.astype(
        {
            "campaign_id": "string",
            "creator_id": "string",
            "platform": "string",
            "topic_similarity": "float64",
        }
    )
