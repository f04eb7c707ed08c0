with source as (
    {{ latest_export_snapshot('brands') }}
)

select
    brand_id,
    name as brand_name,
    category,
    coalesce(list_transform(target_countries, lambda c: upper(trim(c))), []) as target_countries,
    landing_date
from source
qualify row_number() over (partition by brand_id order by name) = 1
