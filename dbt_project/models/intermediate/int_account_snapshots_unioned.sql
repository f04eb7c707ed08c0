{{ config(
    on_schema_change='fail',
    **incremental_by_date('landing_date')
) }}
-- The five platforms' account snapshots in one grain: platform x account x snapshot_date.

with unioned as (
    {% for p in var('platforms') %}
    select
        platform,
        creator_id,
        account_id,
        snapshot_date,
        landing_date,
        extracted_at,
        handle,
        display_name,
        cast(followers as bigint) as followers,
        cast(following as bigint) as following,
        cast(posts_count as bigint) as posts_count,
        followers_hidden
    from {{ ref('stg_' ~ p ~ '__accounts') }}
    where {{ incremental_landing_scope('landing_date') }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

select * from unioned
