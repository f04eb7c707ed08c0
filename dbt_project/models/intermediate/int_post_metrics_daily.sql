{{ config(
    on_schema_change='fail',
    **incremental_by_date('landing_date')
) }}
-- One row per post and snapshot date with the unified per-post metrics (docs/metrics.md).
-- engagements = likes + comments + shares + saves where reported; NULL when neither likes nor
-- comments are known (then nothing is known to add up); otherwise an unreported metric counts 0.
-- views_gained / engagements_gained: change since the post's previous snapshot; for a post seen
-- the first time, its full value when it was published since the previous day (a new post),
-- else NULL (no baseline for an old post seen for the first time). A previous snapshot more than
-- gain_baseline_max_days before is no baseline (the post left the trailing window and came
-- back): that bound also keeps a daily run from reading more than that many days of history.
-- Instagram shares, saves, views and reach come from post insights, fetched for fewer media
-- than the post list (Business Discovery returns media older than the insights window): a
-- snapshot without an insights answer keeps the post's last observed insights, and
-- insights_as_of says from which snapshot date; a metric not asked is never NULLed by it.

{#- the columns a snapshot carries through unchanged, in the model's column order -#}
{%- set snapshot_columns = [
    'platform', 'post_id', 'snapshot_date', 'landing_date', 'creator_id', 'account_id',
    'published_at', 'extracted_at', 'likes', 'comments'
] %}
{%- set insights_struct = "case when platform = 'instagram' and insights_as_of is not null then "
    ~ struct_of(['shares', 'saves', 'views', 'reach', 'insights_as_of']) ~ " end" %}
with posts as (
    {% for p in var('platforms') %}
    select platform, post_id, creator_id, account_id, published_at, snapshot_date,
           landing_date, extracted_at, likes, comments, shares, saves, views
    from {{ ref('stg_' ~ p ~ '__posts') }}
    where {{ incremental_landing_scope('landing_date') }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}
),

insights as (
    select platform, post_id, snapshot_date, views, reach, saves, shares
    from {{ ref('stg_instagram__post_insights') }}
    where {{ incremental_landing_scope('landing_date') }}
),

unified as (
    select
        posts.platform,
        posts.post_id,
        posts.snapshot_date,
        posts.landing_date,
        posts.creator_id,
        posts.account_id,
        posts.published_at,
        posts.extracted_at,
        cast(posts.likes as bigint) as likes,
        cast(posts.comments as bigint) as comments,
        cast(case when posts.platform = 'instagram' then insights.shares else posts.shares end as bigint) as shares,
        cast(case when posts.platform = 'instagram' then insights.saves else posts.saves end as bigint) as saves,
        cast(case when posts.platform = 'instagram' then insights.views else posts.views end as bigint) as views,
        cast(insights.reach as bigint) as reach,
        case when insights.post_id is not null then posts.snapshot_date end as insights_as_of,
        false as is_prior
    from posts
    left join insights
        on posts.platform = insights.platform
        and posts.post_id = insights.post_id
        and posts.snapshot_date = insights.snapshot_date
),

{% if is_incremental() %}
{%- set stored_columns -%}
    platform, post_id, snapshot_date, landing_date, creator_id, account_id,
    published_at, extracted_at, likes, comments, shares, saves, views, reach, insights_as_of
{%- endset %}
{%- set older_snapshots %}
    select this.*, true as is_prior
    from (
        select {{ stored_columns }}
        from {{ this }}
        where snapshot_date < {{ from_date() }} - 1
            and snapshot_date >= {{ from_date() }} - {{ var('gain_baseline_max_days') }}
    ) as this
    semi join without_day_before
        on this.platform = without_day_before.platform and this.post_id = without_day_before.post_id
{%- endset %}
-- Each of today's posts' latest earlier snapshot: the baseline for "gained" and the insights it
-- carries (the columns of unified, in its order). Every post of the trailing 30 days is
-- re-pulled daily, so for nearly all of them it is the day before's: those rows are read
-- first (one day of the table), and the older days only for the few posts without one (new
-- or back in the window): reading and ranking every stored snapshot of the window for every
-- post was four fifths of this model's daily time at agency size.
day_before as (
    select this.*, true as is_prior
    from (
        select {{ stored_columns }}
        from {{ this }}
        where snapshot_date = {{ from_date() }} - 1
    ) as this
    semi join unified as today
        on this.platform = today.platform and this.post_id = today.post_id
),

without_day_before as (
    select distinct today.platform, today.post_id
    from unified as today
    anti join day_before
        on today.platform = day_before.platform and today.post_id = day_before.post_id
),

prior as (
    select * from day_before
    union all
    {{ keep_first(older_snapshots, 'platform, post_id', 'snapshot_date desc') }}
),
{% endif %}

combined as (
    select * from unified
    {% if is_incremental() %}
    union all
    select * from prior
    {% endif %}
),

windowed as (
    -- One window over each post's snapshots gives what a row carries and its baseline: the
    -- latest snapshot up to this one that holds insights (observed or carried) as one struct,
    -- the same up to the previous snapshot, and the previous snapshot's own counts. The
    -- baseline's engagements are computed from those, so no second window sorts the rows
    -- again for lag(engagements) (a third of the model's time on agency's 30 days, 19.6M rows).
    select
        *,
        {{ last_non_null(insights_struct) }} over (
            partition by platform, post_id order by snapshot_date
            rows between unbounded preceding and current row
        ) as insights_carried,
        {{ last_non_null(insights_struct) }} over (
            partition by platform, post_id order by snapshot_date
            rows between unbounded preceding and 1 preceding
        ) as previous_insights_carried,
        {%- for column in ['snapshot_date', 'likes', 'comments', 'shares', 'saves', 'views'] %}
        lag({{ column }}) over w as lag_{{ column }}{{ ',' if not loop.last }}
        {%- endfor %}
    from combined
    window w as (partition by platform, post_id order by snapshot_date)
),

filled as (
    -- Instagram's shares, saves and views are the carried insights, this row's and the
    -- previous row's; the other platforms' are their own counts
    select
        {{ snapshot_columns | join(',\n        ') }},
        {%- for column in ['shares', 'saves', 'views'] %}
        case when platform = 'instagram' then insights_carried.{{ column }} else {{ column }} end as {{ column }},
        case when platform = 'instagram' then previous_insights_carried.{{ column }} else lag_{{ column }} end as lag_{{ column }},
        {%- endfor %}
        insights_carried.reach as reach,
        insights_carried.insights_as_of as insights_as_of,
        lag_snapshot_date,
        lag_likes,
        lag_comments,
        is_prior
    from windowed
),

with_lag as (
    select
        *,
        {{ post_engagements('likes', 'comments', 'shares', 'saves') }} as engagements,
        {{ post_engagements('lag_likes', 'lag_comments', 'lag_shares', 'lag_saves') }} as lag_engagements
    from filled
),

with_previous as (
    select
        *,
        lag_snapshot_date >= snapshot_date - {{ var('gain_baseline_max_days') }} as has_baseline,
        case when has_baseline then lag_snapshot_date end as previous_snapshot_date,
        case when has_baseline then lag_views end as previous_views,
        case when has_baseline then lag_engagements end as previous_engagements
    from with_lag
)

select
    {{ snapshot_columns | join(',\n    ') }},
    shares,
    saves,
    views,
    reach,
    insights_as_of,
    engagements,
    previous_snapshot_date,
    case
        when previous_snapshot_date is not null then views - previous_views
        when published_at > cast(snapshot_date as timestamp) - interval 1 day then views
    end as views_gained,
    case
        when previous_snapshot_date is not null then engagements - previous_engagements
        when published_at > cast(snapshot_date as timestamp) - interval 1 day then engagements
    end as engagements_gained
from with_previous
where not is_prior
