{{ config(
    materialized='incremental',
    incremental_strategy='delete+insert',
    unique_key=['platform', 'comment_id'],
    on_schema_change='fail'
) }}
-- One row per comment (platform x comment_id), latest version seen; text stays in the warehouse.

{% set platforms = ['instagram', 'facebook', 'tiktok', 'youtube', 'x'] %}

with unioned as (
    {% for p in platforms %}
    select platform, comment_id, post_id, creator_id, account_id, comment_text, published_at,
           like_count, reply_count, author_hash, snapshot_date, extracted_at
    from {{ ref('stg_' ~ p ~ '__comments') }}
    where {{ incremental_landing_scope('landing_date') }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
)

-- the latest version of each comment: arg_max_null over (snapshot_date, extracted_at) takes
-- every column from that one row (a GROUP BY: no sort of the whole history on a full refresh)
select
    platform,
    comment_id,
    arg_max_null(columns(* exclude (platform, comment_id, snapshot_date, extracted_at)),
                 (snapshot_date, extracted_at)),
    max(snapshot_date) as last_seen_date
from unioned
group by platform, comment_id
