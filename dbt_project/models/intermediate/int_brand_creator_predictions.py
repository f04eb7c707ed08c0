"""The matching model's scores of today's candidates (docs/matching.md): the stored model of
int_matching_model_trained applied to int_brand_creator_candidates, a batch of brands at a
time (kol_matching.predictions_in_batches: the candidates are brands x accounts, 4.6M rows at
agency size). No rows when it holds no model (fewer than `match_model_min_training_rows` past
contracts with an outcome): brand_creator_matches then uses the hand-weighted score.
"""

from kol_matching import predictions_in_batches, to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    record = to_pandas(dbt.ref("int_matching_model_trained"))
    return predictions_in_batches(session, record, dbt.ref("int_brand_creator_candidates"))
