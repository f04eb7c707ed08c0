{%- set selected -%}
with source as (
    {{ latest_export_snapshot('fx_rates') }}
)

select
    date as rate_date,
    upper(currency) as currency,
    usd_per_unit,
    landing_date
from source
{%- endset -%}
{{ keep_first(selected, 'rate_date, currency', 'usd_per_unit desc') }}
