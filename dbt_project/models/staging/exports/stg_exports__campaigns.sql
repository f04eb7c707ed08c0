{%- set selected -%}
with source as (
    {{ latest_export_snapshot('campaigns') }}
)

select
    campaign_id,
    brand_id,
    name as campaign_name,
    objective,
    start_date,
    end_date,
    budget,
    upper(currency) as currency,
    lower({{ strip_leading('hashtag', '#') }}) as hashtag,
    brief,
    landing_date
from source
{%- endset -%}
{{ keep_first(selected, 'campaign_id', 'start_date') }}
