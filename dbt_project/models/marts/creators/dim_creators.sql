{{ config(tags=['published']) }}
-- One row per creator of the roster (as landed on the latest roster date up to D).
with roster as (
    select * from {{ ref('stg_exports__roster') }}
)

select
    cast(creator_id as varchar) as creator_id,
    cast(min(display_name) as varchar) as display_name,
    cast(mode(niche) as varchar) as niche,
    cast(mode(country) as varchar) as country,
    cast(mode(language) as varchar) as language,
    cast(string_agg(distinct platform, ',' order by platform) as varchar) as platforms,
    cast(count(distinct platform) as integer) as platform_count
from roster
group by creator_id
