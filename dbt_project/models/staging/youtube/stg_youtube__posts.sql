with source as (
    select * from {{ source('youtube', 'posts') }}
    where {{ landing_scope('cast(dt as date)') }}
),

renamed as (
    select
        {{ common_columns() }},
        post_id,
        concat_ws(E'\n', title, description) as caption,
        {{ hashtags_from("concat_ws(' ', title, description)", 'tags') }} as hashtags,
        timezone('UTC', published_at) as published_at,
        title,
        like_count as likes,  -- NULL when the creator hides likes
        comment_count as comments,  -- NULL when comments are off
        cast(null as bigint) as shares,
        cast(null as bigint) as saves,
        view_count as views
    from source
)

select * from renamed
{{ dedupe_latest(['post_id']) }}
