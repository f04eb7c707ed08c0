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

select
    platform,
    comment_id,
    post_id,
    creator_id,
    account_id,
    comment_text,
    published_at,
    like_count,
    reply_count,
    author_hash,
    snapshot_date as last_seen_date
from unioned
qualify row_number() over (
    partition by platform, comment_id order by snapshot_date desc, extracted_at desc
) = 1
