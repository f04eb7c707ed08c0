{{ config(tags=['published']) }}
-- The matching backtest (int_matching_backtest_evaluated, docs/matching.md): one row per scorer.
select
    cast(scorer as {{ dbt.type_string() }}) as scorer,
    cast(split_date as date) as split_date,
    cast(train_rows as integer) as train_rows,
    cast(train_from as date) as train_from,
    cast(train_through as date) as train_through,
    cast(test_rows as integer) as test_rows,
    cast(test_from as date) as test_from,
    cast(test_through as date) as test_through,
    cast(spearman as double) as spearman,
    cast(precision_at_10 as double) as precision_at_10,
    cast(model_version as {{ dbt.type_string() }}) as model_version
from {{ ref('int_matching_backtest_evaluated') }}
