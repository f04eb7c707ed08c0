"""Topic similarity between each brand and each creator account (TF-IDF cosine, scikit-learn).

Brand document: the brand's category + every campaign's name, brief and hashtag.
Creator document: the account's captions and hashtags of posts published in the last
`match_caption_window_days` days as of the run date. One vectoriser is fitted over all documents
so both sides share one vocabulary; `topic_similarity` = cosine x 100 (0 = nothing in common).
"""

import os
from datetime import UTC, datetime, timedelta

import numpy as np
import pandas as pd

COLUMNS = {"brand_id": "string", "platform": "string", "creator_id": "string"}


def empty() -> pd.DataFrame:
    frame = pd.DataFrame({name: pd.Series(dtype=kind) for name, kind in COLUMNS.items()})
    frame["topic_similarity"] = pd.Series(dtype="float64")
    return frame


def model(dbt, session):
    dbt.config(materialized="table")
    # D as in the run_date() macro: --vars run_date, else KOL_RUN_DATE (set by the build, read
    # here at run time so a new D keeps dbt's partial parse), else yesterday (UTC)
    run_date = (
        dbt.config.get("run_date")
        or os.environ.get("KOL_RUN_DATE")
        or str((datetime.now(UTC) - timedelta(days=1)).date())
    )
    window_days = int(dbt.config.get("caption_window_days"))
    brands = dbt.ref("stg_exports__brands").df()
    campaigns = dbt.ref("stg_exports__campaigns").df()
    posts = (
        dbt.ref("int_posts_unioned")
        .filter(
            f"published_at <= cast('{run_date}' as timestamp) + interval 1 day "
            f"and published_at > cast('{run_date}' as timestamp) + interval 1 day "
            f"- to_days({window_days}) and first_seen_date <= cast('{run_date}' as date)"
        )
        .project("platform, creator_id, caption, array_to_string(hashtags, ' ') as tags")
        .df()
    )
    if brands.empty or posts.empty:
        return empty()

    campaigns["text"] = (
        campaigns[["campaign_name", "brief", "hashtag"]]
        .fillna("")
        .astype(str)
        .agg(" ".join, axis=1)
    )
    brand_text = campaigns.groupby("brand_id")["text"].agg(" ".join)
    brands["document"] = (
        brands["category"].fillna("") + " " + brands["brand_id"].map(brand_text).fillna("")
    )
    posts["text"] = posts["caption"].fillna("") + " " + posts["tags"].fillna("")
    creators = posts.groupby(["platform", "creator_id"], as_index=False)["text"].agg(" ".join)

    # imported here: scikit-learn takes seconds to import, and only runs with brands and posts
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.metrics.pairwise import cosine_similarity

    vectoriser = TfidfVectorizer(lowercase=True, stop_words="english", sublinear_tf=True)
    try:
        matrix = vectoriser.fit_transform(list(brands["document"]) + list(creators["text"]))
    except ValueError:  # empty vocabulary: no words at all on either side
        return empty()
    similarity = cosine_similarity(matrix[: len(brands)], matrix[len(brands) :])

    # brands x creators rows, built column-wise (a Python loop over every pair took seconds
    # at 1,000 accounts and grows with brands x accounts); ravel() is row-major: brand-major
    n_brands, n_creators = similarity.shape
    frame = pd.DataFrame(
        {
            "brand_id": np.repeat(brands["brand_id"].to_numpy(), n_creators),
            "platform": np.tile(creators["platform"].to_numpy(), n_brands),
            "creator_id": np.tile(creators["creator_id"].to_numpy(), n_brands),
            "topic_similarity": np.asarray(similarity).ravel() * 100.0,
        }
    )
    return frame.astype({**COLUMNS, "topic_similarity": "float64"})
