"""The matching model, trained on every past contract with an outcome and kept as one row
(kol_matching.trained): version, training window, in-sample metrics and the learned numbers.
Incremental: it retrains only when the training set changed (`training_fingerprint`, a hash of
every value the model learns from); otherwise the stored row stays as it is.
"""

import pandas as pd
from kol_matching import TRAINED_COLUMNS, to_pandas, trained, training_fingerprint


def model(dbt, session):
    dbt.config(
        materialized="incremental",
        incremental_strategy="delete+insert",
        unique_key="model_name",
    )
    min_rows = int(dbt.config.get("min_training_rows"))
    training = to_pandas(dbt.ref("int_campaign_creator_features"))
    if dbt.is_incremental:
        stored = session.sql(f"select training_fingerprint from {dbt.this}").df()
        if list(stored["training_fingerprint"]) == [training_fingerprint(training, min_rows)]:
            return pd.DataFrame({n: pd.Series(dtype=k) for n, k in TRAINED_COLUMNS.items()})
    return trained(training, min_rows)
