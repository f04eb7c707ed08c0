{{ config(tags=['published']) }}
-- One row per creator of the roster (as landed on the latest roster date up to D).
with roster as (
    select * from {{ ref('stg_exports__roster') }}
)

select
    cast(creator_id as {{ dbt.type_string() }}) as creator_id,
    cast(min(display_name) as {{ dbt.type_string() }}) as display_name,
    cast(mode(niche) as {{ dbt.type_string() }}) as niche,
    cast(mode(country) as {{ dbt.type_string() }}) as country,
    cast(mode(language) as {{ dbt.type_string() }}) as language,
    cast({{ sorted_distinct_join('platform', ',') }} as {{ dbt.type_string() }}) as platforms,
    cast(count(distinct platform) as integer) as platform_count
from roster
group by creator_id
