with source as (
    select * from {{ source('instagram', 'accounts') }}
    where {{ landing_scope('cast(dt as date)') }}
),

renamed as (
    select
        {{ common_columns() }},
        username as handle,
        name as display_name,
        followers_count as followers,
        follows_count as following,
        media_count as posts_count,
        false as followers_hidden
    from source
)

select * from renamed
{{ dedupe_latest(['account_id']) }}
