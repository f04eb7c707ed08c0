-- No key: several conversion rows per campaign x creator x date are legitimate.
with source as (
    {{ latest_export_snapshot('conversions') }}
)

select
    campaign_id,
    creator_id,
    date as conversion_date,
    clicks,
    orders,
    revenue,
    upper(currency) as currency,
    lower(nullif(trim(platform), '')) as platform,
    landing_date
from source
