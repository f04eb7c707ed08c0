{%- set selected -%}
with source as (
    {{ latest_export_snapshot('roster') }}
)

select
    creator_id,
    display_name,
    lower(platform) as platform,
    handle,
    account_id,
    niche,
    upper(country) as country,
    lower(language) as language,
    landing_date
from source
{%- endset -%}
{{ keep_first(selected, 'creator_id, platform', 'handle') }}
