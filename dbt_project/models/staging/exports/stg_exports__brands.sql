{%- set selected -%}
with source as (
    {{ latest_export_snapshot('brands') }}
)

select
    brand_id,
    name as brand_name,
    category,
    coalesce({{ list_map('target_countries', 'c', 'upper(trim(c))') }}, {{ empty_text_list() }}) as target_countries,
    landing_date
from source
{%- endset -%}
{{ keep_first(selected, 'brand_id', 'brand_name') }}
