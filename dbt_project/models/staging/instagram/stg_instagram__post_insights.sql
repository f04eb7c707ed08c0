-- A metric Instagram does not have for that media is absent in the API -> NULL here, never 0.
with source as (
    select * from {{ source('instagram', 'post_insights') }}
    where {{ landing_scope('cast(dt as date)') }}
),

renamed as (
    select
        {{ common_columns() }},
        post_id,
        views,
        reach,
        saved as saves,
        shares,
        total_interactions
    from source
)

select * from renamed
{{ dedupe_latest(['post_id']) }}
