with source as (
    {{ latest_export_snapshot('campaign_creators') }}
)

select
    campaign_id,
    creator_id,
    lower(platform) as platform,
    fee,
    upper(currency) as currency,
    coalesce(list_filter(post_ids, lambda p: p is not null and p <> ''), []) as post_ids,
    landing_date
from source
qualify row_number() over (partition by campaign_id, creator_id, lower(platform) order by fee desc) = 1
