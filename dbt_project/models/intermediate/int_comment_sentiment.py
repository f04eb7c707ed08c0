"""VADER sentiment per comment, scored ONCE and kept (incremental on platform x comment_id).

The language guess and the scoring live in `dbt_project/python/kol_sentiment.py` (on dbt's
sys.path through profiles.yml `module_paths`), so that a large batch can be scored by worker
processes: VADER is pure Python and holds one core. `KOL_SENTIMENT_WORKERS` (empty: one per
core, at most 4; 1: none) sets how many; the scores do not depend on it.
"""

import os

import pandas as pd
from kol_sentiment import guess_language, score_texts, worker_count

__all__ = ["guess_language", "model", "score"]


def score(frame: pd.DataFrame, workers: int = 1) -> pd.DataFrame:
    scored = score_texts(frame["comment_text"].fillna("").tolist(), workers)
    languages = [language for language, _ in scored]
    return pd.DataFrame(
        {
            "platform": frame["platform"].astype("string"),
            "comment_id": frame["comment_id"].astype("string"),
            "language_guess": pd.Series(languages, dtype="string"),
            "is_scored": pd.Series([lang != "other" for lang in languages], dtype="bool"),
            "compound": pd.Series([compound for _, compound in scored], dtype="float64"),
        }
    )


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="append",
        unique_key=["platform", "comment_id"],
    )
    comments = dbt.ref("int_comments_unioned")
    if dbt.is_incremental:
        # only comments (re)seen since the last build can be new: older ones were scored then
        from_date = dbt.config.get("from_date") or os.environ.get("KOL_FROM_DATE", "")
        if from_date:
            comments = comments.filter(f"last_seen_date >= cast('{from_date}' as date)")
        # the already-scored among these candidates first (a semi join builds on the day's
        # candidates), so the anti join never hashes every comment ever scored
        candidates = comments.project("platform, comment_id")
        scored = session.sql(f"select platform, comment_id from {dbt.this}").join(
            candidates, "platform, comment_id", how="semi"
        )
        comments = comments.join(scored, "platform, comment_id", how="anti")
    frame = comments.project("platform, comment_id, comment_text").df()
    return score(frame, worker_count(dbt.config.get("sentiment_workers")))
