{%- set selected -%}
with source as (
    {{ latest_export_snapshot('campaign_creators') }}
)

select
    campaign_id,
    creator_id,
    lower(platform) as platform,
    fee,
    upper(currency) as currency,
    coalesce({{ list_where('post_ids', 'p', "p is not null and p <> ''") }}, {{ empty_text_list() }}) as post_ids,
    landing_date
from source
{%- endset -%}
{{ keep_first(selected, 'campaign_id, creator_id, platform', 'fee desc') }}
