{{ config(**incremental_replace()) }}
-- When each account started on its platform (platform_comparison.new_creators,
-- dim_creator_accounts.started_on), never "when the pipeline first saw it":
--   account_created  X users.created_at, YouTube channel snippet.publishedAt (the API says
--                    when the account was created);
--   first_post       elsewhere (Instagram, TikTok, Facebook give no creation date), or when the
--                    API left it out: the account's first post ever seen, when the first-sight
--                    pull (the last first_sight_days of posts, ingestion/platforms/base.py
--                    FIRST_SIGHT_DAYS) shows at least new_creator_quiet_days without a post
--                    before it. Otherwise NULL: the account was posting before the pipeline
--                    could see, its start is unknown (and not in the window).
-- A daily build takes both earliest dates below from its previous rows and the rows landed
-- since from_date (an earliest date only moves earlier: the same as over every row), so it
-- reads neither every snapshot nor the staging views' dedupe of every landed account record
-- (agency, a year: 1.4 s of 1.7 s). A first post is looked for among every post: a post's
-- publication time can move later, which no stored earliest date would show.
{%- set landed_since = ' and ' ~ incremental_landing_scope('landing_date') if is_incremental() else '' %}
with first_seen as (
    select platform, creator_id, min(first_seen_date) as first_seen_date
    from (
        select platform, creator_id, snapshot_date as first_seen_date
        from {{ ref('int_account_snapshots_unioned') }}
        where snapshot_date <= {{ run_date() }}{{ landed_since }}
        {%- if is_incremental() %}
        union all
        select platform, creator_id, first_seen_date from {{ this }}
        {%- endif %}
    ) as seen
    group by platform, creator_id
),

created as (
    select platform, creator_id, min(created_on) as created_on
    from (
        {%- for p in ['x', 'youtube'] %}
        {{ 'union all' if not loop.first }}
        select platform, creator_id, cast(account_created_at as date) as created_on
        from {{ ref('stg_' ~ p ~ '__accounts') }}
        where account_created_at is not null{{ landed_since }}
        {%- endfor %}
        {%- if is_incremental() %}
        union all
        select platform, creator_id, created_on from {{ this }} where created_on is not null
        {%- endif %}
    ) as landed
    group by platform, creator_id
),

first_posts as (
    select platform, creator_id, min(cast(published_at as date)) as first_post_on
    from {{ ref('int_posts_unioned') }}
    where published_at <= {{ end_of_day(run_date()) }}
    group by platform, creator_id
),

dated as (
    select
        first_seen.platform,
        first_seen.creator_id,
        first_seen.first_seen_date,
        created.created_on,
        first_posts.first_post_on,
        first_posts.first_post_on > {{ dbt.dateadd('day',
            var('new_creator_quiet_days') ~ ' - ' ~ var('first_sight_days'),
            'first_seen.first_seen_date') }} as first_post_is_start
    from first_seen
    left join created
        on first_seen.platform = created.platform and first_seen.creator_id = created.creator_id
    left join first_posts
        on first_seen.platform = first_posts.platform and first_seen.creator_id = first_posts.creator_id
)

select
    platform,
    creator_id,
    first_seen_date,
    created_on,
    first_post_on,
    cast(case
        when created_on is not null then created_on
        when first_post_is_start then first_post_on
    end as date) as started_on,
    case
        when created_on is not null then 'account_created'
        when first_post_is_start then 'first_post'
    end as started_by
from dated
