with source as (
    select * from {{ source('facebook', 'posts') }}
    where {{ landing_scope('cast(dt as date)') }}
),

renamed as (
    select
        {{ common_columns() }},
        post_id,
        message as caption,
        {{ hashtags_from('message') }} as hashtags,
        timezone('UTC', published_at) as published_at,
        permalink_url as permalink,
        reactions_count as likes,  -- Facebook reactions are `likes`
        comments_count as comments,
        shares_count as shares,
        cast(null as bigint) as saves,
        cast(null as bigint) as views  -- Facebook reports no views
    from source
)

select * from renamed
{{ dedupe_latest(['post_id']) }}
