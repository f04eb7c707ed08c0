{{ config(
    on_schema_change='fail',
    tags=['published'],
    **incremental_by_date('date')
) }}
-- One row per account snapshot date: followers, the change since the previous snapshot, posts
-- published that day (new posts first seen by that day's snapshot), and views / engagements gained that day on
-- the account's tracked posts (sum of int_post_metrics_daily.*_gained).
with snapshots as (
    select * from {{ ref('int_account_snapshots_unioned') }}
),

today as (
    select * from snapshots
    where {{ incremental_landing_scope('snapshot_date') }}
),

-- the followers of each snapshot's previous one (platform x creator_id x snapshot_date is unique):
-- a daily build orders only its own days' snapshots, after each account's latest one before
-- them (an aggregate over the older ones, not a sort of the whole history)
previous_candidates as (
    select platform, creator_id, snapshot_date, followers
    from snapshots
    where {{ incremental_landing_scope('snapshot_date') }}
    {% if is_incremental() %}
    union all
    select
        platform,
        creator_id,
        max(snapshot_date) as snapshot_date,
        {{ latest_value('followers', 'snapshot_date') }} as followers
    from snapshots
    where snapshot_date < {{ from_date() }} and {{ landing_scope('snapshot_date') }}
    group by platform, creator_id
    {% endif %}
),

previous as (
    select
        platform,
        creator_id,
        snapshot_date,
        lag(followers) over (partition by platform, creator_id order by snapshot_date) as previous_followers
    from previous_candidates
),

-- new posts: first seen on that date's snapshot and published since the start of the day before
-- (a post published after yesterday's extraction counts once, on the day it is first seen;
-- the 90-day history pulled on an account's first day is not "published that day")
published as (
    select platform, creator_id, first_seen_date as date, count(*) as posts_published
    from {{ ref('int_posts_unioned') }}
    where {{ incremental_landing_scope('first_seen_date') }}
        and published_at >= cast(first_seen_date as timestamp) - interval 1 day
    group by all
),

gained as (
    select
        platform,
        creator_id,
        snapshot_date as date,
        sum(views_gained) as views,
        sum(engagements_gained) as engagements
    from {{ ref('int_post_metrics_daily') }}
    where {{ incremental_landing_scope('snapshot_date') }}
    group by all
)

select
    cast(today.snapshot_date as date) as date,
    cast(today.creator_id as {{ dbt.type_string() }}) as creator_id,
    cast(today.platform as {{ dbt.type_string() }}) as platform,
    cast(today.account_id as {{ dbt.type_string() }}) as account_id,
    cast(today.followers as bigint) as followers,
    cast(today.followers - previous.previous_followers as bigint) as followers_change,
    cast(coalesce(published.posts_published, 0) as integer) as posts_published,
    cast(gained.views as bigint) as views,
    cast(gained.engagements as bigint) as engagements
from today
left join previous
    on today.platform = previous.platform
    and today.creator_id = previous.creator_id
    and today.snapshot_date = previous.snapshot_date
left join published
    on today.platform = published.platform
    and today.creator_id = published.creator_id
    and today.snapshot_date = published.date
left join gained
    on today.platform = gained.platform
    and today.creator_id = gained.creator_id
    and today.snapshot_date = gained.date
