{{ config(
    on_schema_change='fail',
    **incremental_by_key(['platform', 'post_id'], key_time='first_seen_date')
) }}
-- Each post's latest snapshot as of D (snapshots after D are excluded). Incremental: a daily
-- run only looks at the posts re-pulled in [from_date, D] and keeps, per post, the later of
-- today's snapshot and the one already kept, so its cost follows the day, not the history.
-- (The pipeline rebuilds fully when D goes back before the last build: see pipeline/steps.py.)
-- A post's first_seen_date (int_posts_unioned) never moves later, so the stored rows of
-- today's posts all have a first_seen_date at or after the least of theirs today
-- (first_seen_from, a literal the engine prunes stored blocks with): the kept rows, the posts
-- joined on and the delete (incremental_by_key's key_time) read only the stored rows from it,
-- not every post ever seen.
{%- set today_posts -%}
    select platform, post_id
    from {{ ref('int_post_metrics_daily') }}
    where {{ incremental_landing_scope('landing_date') }}
{%- endset %}
{%- set first_seen_from = earliest_first_sighting(today_posts) if is_incremental() else none %}
{%- set first_seen_bound = "first_seen_date >= cast('" ~ first_seen_from ~ "' as date)" if first_seen_from else "true" %}

with candidates as (
    select *
    from {{ ref('int_post_metrics_daily') }}
    where {{ incremental_landing_scope('landing_date') }}
        and snapshot_date <= {{ run_date() }}
        and published_at <= {{ end_of_day(run_date()) }}
    {% if is_incremental() %}
    union all by name
    select kept.* exclude (hashtags, first_seen_date)
    from (select * from {{ this }} where {{ first_seen_bound }}) as kept
    semi join ({{ today_posts }}) as today
        on kept.platform = today.platform and kept.post_id = today.post_id
    {% endif %}
),

latest as (
    -- every column from the post's latest row (a GROUP BY: no sort of all snapshots on a full refresh)
    select
        platform,
        post_id,
        {%- for column in columns_except(ref('int_post_metrics_daily'), ['platform', 'post_id']) %}
        {{ latest_value(column, 'snapshot_date, extracted_at') }} as {{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from candidates
    group by platform, post_id
)

select
    latest.*,
    posts.hashtags,
    posts.first_seen_date
from latest
inner join (
    select * from {{ ref('int_posts_unioned') }}
    {%- if is_incremental() %} where {{ first_seen_bound }}{% endif %}
) as posts
    on latest.platform = posts.platform and latest.post_id = posts.post_id
