"""Backtest of the matching model against the hand-weighted score (docs/matching.md): a
time split of the past contracts, one row per scorer (kol_matching.backtest); published
through matching_backtest.
"""

from kol_matching import backtest, to_pandas


def model(dbt, session):
    dbt.config(materialized="table")
    training = to_pandas(dbt.ref("int_campaign_creator_features"))
    weights_frame = to_pandas(dbt.ref("match_weights"))
    weights = dict(
        zip(weights_frame["component"], weights_frame["weight"].astype(float), strict=True)
    )
    return backtest(
        training,
        weights,
        int(dbt.config.get("min_training_rows")),
        str(dbt.config.get("split_date") or ""),
        float(dbt.config.get("split_share")),
    )
