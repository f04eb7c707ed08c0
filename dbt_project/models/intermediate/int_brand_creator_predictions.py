"""The matching model's scores of today's candidates (docs/matching.md): trained on every
past contract with an outcome (int_campaign_creator_features), applied to
int_brand_creator_candidates. No rows when fewer than `match_model_min_training_rows`
contracts have an outcome: brand_creator_matches then uses the hand-weighted score.
"""

from kol_matching import predictions, to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    min_rows = int(dbt.config.get("min_training_rows"))
    training = to_pandas(dbt.ref("int_campaign_creator_features"))
    candidates = to_pandas(dbt.ref("int_brand_creator_candidates"))
    return predictions(training, candidates, min_rows)
