with source as (
    select * from {{ source('tiktok', 'accounts') }}
    where {{ landing_scope('cast(dt as date)') }}
),

renamed as (
    select
        {{ common_columns() }},
        username as handle,
        display_name,
        bio_description as bio,
        follower_count as followers,
        following_count as following,
        video_count as posts_count,
        likes_count as total_likes,
        is_verified,
        false as followers_hidden
    from source
)

select * from renamed
{{ dedupe_latest(['account_id']) }}
