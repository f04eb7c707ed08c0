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
    lower(ltrim(hashtag, '#')) as hashtag,
    brief,
    landing_date
from source
qualify row_number() over (partition by campaign_id order by start_date) = 1
