with source as (
    {{ latest_export_snapshot('fx_rates') }}
)

select
    date as rate_date,
    upper(currency) as currency,
    usd_per_unit,
    landing_date
from source
qualify row_number() over (partition by date, upper(currency) order by usd_per_unit desc) = 1
