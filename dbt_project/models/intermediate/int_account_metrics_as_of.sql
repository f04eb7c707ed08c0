-- Every per-account metric (docs/metrics.md), computed as of several dates:
-- the run date D and the last day of every earlier month with data (platform_comparison's
-- months). creator_scorecard is the D slice; platform_comparison reads the month-end slices.
--
-- Incremental (unique_key as_of_date): a month-end slice, once built, stays; a daily run builds
-- the D slice and any month-end since the last build (dates >= from_date - 1: the build before
-- covered every earlier one), so it reads a bounded window of history, never all of it:
-- snapshots from 60 days before, posts of the ER window, comments of the sentiment window. The
-- D slice takes post metrics from int_post_metrics_latest (one row per post) instead of
-- searching the daily snapshots. Earlier slices hold the dates of earlier runs too; readers
-- take the latest slice of each month (platform_comparison) or the D slice (creator_scorecard).
-- The latest slice before the build (P) carries each account's first sighting and its latest
-- snapshot up to P, so a daily run reads the snapshots since P (and the growth baselines' days)
-- instead of every snapshot ever landed; without such a slice it reads them all.
{{ config(
    on_schema_change='fail',
    **incremental_by_date('as_of_date')
) }}
{%- if is_incremental() %}
    {%- set min_as_of = '(' ~ from_date() ~ ' - 1)' %}
    {#- a month ends in [from_date - 1, D): its month-end slice is due in this run #}
    {%- set first = modules.datetime.date.fromisoformat(from_date_value()) - modules.datetime.timedelta(days=1) %}
    {%- set last = modules.datetime.date.fromisoformat(run_date_value()) %}
    {%- set month_end_due = (first.year, first.month) != (last.year, last.month) %}
    {#- P, the latest slice before this build (none: a young warehouse, or at parse time) -#}
    {%- set prior = none %}
    {%- if execute %}
        {%- set prior = run_query(
            'select max(as_of_date) from ' ~ this ~ ' where as_of_date < ' ~ min_as_of
        ).columns[0].values()[0] %}
    {%- endif %}
    {#- the earliest first sighting of the ER window's posts, a literal that prunes the stored
        blocks of int_post_metrics_latest (none: no post in the window, or at parse time). A
        kept row's first_seen_date is the post's as it was when written, and a post's only
        moves earlier (int_posts_unioned): no window post's row is older. Agency, a year: the
        join read 8.9M kept rows where the window holds 1.5M posts. -#}
    {%- set window_first_seen = none %}
    {%- if execute %}
        {%- set window_first_seen = run_query(
            'select min(first_seen_date) from ' ~ ref('int_posts_unioned')
            ~ ' where published_at > ' ~ end_of_day(min_as_of) ~ ' - ' ~ days_interval(var('er_window_days'))
        ).columns[0].values()[0] %}
    {%- endif %}
    {%- if prior %}
        {#- snapshots since P, and every day a growth baseline can reach back to -#}
        {%- set baselines_from = first - modules.datetime.timedelta(
            days=var('growth_lookback_days') + var('growth_tolerance_days')) %}
        {%- set read_from = [prior + modules.datetime.timedelta(days=1), baselines_from] | min %}
    {%- endif %}
{%- else %}
    {%- set min_as_of = "cast('0001-01-01' as date)" %}
    {%- set month_end_due = true %}
    {%- set prior = none %}
    {%- set window_first_seen = none %}
{%- endif %}

with
{%- if prior %}
prior_slice as (
    select * from {{ this }} where as_of_date = cast('{{ prior }}' as date)
),
{%- endif %}

snapshots as (
    select platform, creator_id, account_id, snapshot_date, followers, following, followers_hidden
    from {{ ref('int_account_snapshots_unioned') }}
    where snapshot_date <= {{ run_date() }}
    {%- if prior %}
        and snapshot_date >= cast('{{ read_from }}' as date)
    union all
    -- the latest snapshot before those, as slice P recorded it
    select platform, creator_id, account_id, followers_snapshot_date, followers, following, followers_hidden
    from prior_slice
    where followers_snapshot_date < cast('{{ read_from }}' as date)
    {%- endif %}
),

as_of_dates as (
    select distinct least(last_day(snapshot_date), {{ run_date() }}) as as_of_date
    from snapshots
    where least(last_day(snapshot_date), {{ run_date() }}) >= {{ min_as_of }}
),

accounts as (
    select platform, creator_id, min(snapshot_date) as first_seen_date
    from (
        select platform, creator_id, snapshot_date from snapshots
        {%- if prior %}
        union all
        select platform, creator_id, first_seen_date from prior_slice
        {%- endif %}
    ) as sightings
    group by all
),

grid as (
    select as_of_dates.as_of_date, accounts.platform, accounts.creator_id, accounts.first_seen_date
    from as_of_dates
    inner join accounts on accounts.first_seen_date <= as_of_dates.as_of_date
),

-- followers as of the date = the latest snapshot at or before it
current_snapshot as (
    select
        grid.*,
        snapshots.account_id,
        snapshots.snapshot_date as followers_snapshot_date,
        snapshots.followers,
        snapshots.following,
        snapshots.followers_hidden
    from grid
    {{ asof_join(
        'snapshots', 'snapshots',
        'grid.platform = snapshots.platform and grid.creator_id = snapshots.creator_id',
        'grid.as_of_date', '>=', 'snapshot_date', 'platform, creator_id'
    ) }}
),

-- follower_growth_30d baseline: the latest snapshot at or before D - 30, if within 3 days of it
growth_baseline as (
    select
        current_snapshot.as_of_date,
        current_snapshot.platform,
        current_snapshot.creator_id,
        snapshots.followers as baseline_followers,
        snapshots.snapshot_date as baseline_date
    from current_snapshot
    {{ asof_join(
        'snapshots', 'snapshots',
        'current_snapshot.platform = snapshots.platform and current_snapshot.creator_id = snapshots.creator_id',
        'current_snapshot.as_of_date - ' ~ var('growth_lookback_days'), '>=', 'snapshot_date', 'platform, creator_id',
        also='snapshots.snapshot_date >= ' ~ min_as_of ~ ' - ' ~ var('growth_lookback_days') ~ ' - ' ~ var('growth_tolerance_days')
    ) }}
    where snapshots.snapshot_date >= current_snapshot.as_of_date
        - {{ var('growth_lookback_days') }} - {{ var('growth_tolerance_days') }}
),

-- follower_growth_7d baseline: the latest snapshot at or before D - 7, if within 3 days of it
growth_baseline_7d as (
    select
        current_snapshot.as_of_date,
        current_snapshot.platform,
        current_snapshot.creator_id,
        snapshots.followers as baseline_followers
    from current_snapshot
    {{ asof_join(
        'snapshots', 'snapshots',
        'current_snapshot.platform = snapshots.platform and current_snapshot.creator_id = snapshots.creator_id',
        'current_snapshot.as_of_date - ' ~ var('growth_short_lookback_days'), '>=', 'snapshot_date', 'platform, creator_id',
        also='snapshots.snapshot_date >= ' ~ min_as_of ~ ' - ' ~ var('growth_short_lookback_days') ~ ' - ' ~ var('growth_tolerance_days')
    ) }}
    where snapshots.snapshot_date >= current_snapshot.as_of_date
        - {{ var('growth_short_lookback_days') }} - {{ var('growth_tolerance_days') }}
),

tiers as (
    select * from {{ ref('tier_thresholds') }}
),

tiered as (
    select
        current_snapshot.*,
        case when current_snapshot.followers is null then 'unknown' else tiers.tier end as tier,
        {{ safe_divide('current_snapshot.followers', 'growth_baseline.baseline_followers') }} - 1 as follower_growth_30d,
        {{ safe_divide('current_snapshot.followers', 'growth_baseline_7d.baseline_followers') }} - 1 as follower_growth_7d
    from current_snapshot
    left join tiers
        on current_snapshot.followers >= tiers.min_followers
        and (tiers.max_followers is null or current_snapshot.followers < tiers.max_followers)
    left join growth_baseline
        on current_snapshot.as_of_date = growth_baseline.as_of_date
        and current_snapshot.platform = growth_baseline.platform
        and current_snapshot.creator_id = growth_baseline.creator_id
    left join growth_baseline_7d
        on current_snapshot.as_of_date = growth_baseline_7d.as_of_date
        and current_snapshot.platform = growth_baseline_7d.platform
        and current_snapshot.creator_id = growth_baseline_7d.creator_id
),

-- the account's latest 12 posts published in the last 90 days with known engagements,
-- with their metrics as of the date
window_posts as (
    select as_of_dates.as_of_date, posts.platform, posts.post_id, posts.creator_id, posts.published_at
    from as_of_dates
    inner join (
        select * from {{ ref('int_posts_unioned') }}
        where published_at > {{ end_of_day(min_as_of) }} - {{ days_interval(var('er_window_days')) }}
    ) as posts
        on {{ in_last_days('posts.published_at', 'as_of_dates.as_of_date', var('er_window_days')) }}
        and posts.first_seen_date <= as_of_dates.as_of_date
),

window_post_metrics as (
    -- as of D: each post's latest snapshot
    select window_posts.*, latest.engagements, latest.views
    from window_posts
    inner join (
        select * from {{ ref('int_post_metrics_latest') }}
        {%- if window_first_seen %}
        where first_seen_date >= cast('{{ window_first_seen }}' as date)
        {%- endif %}
    ) as latest
        on window_posts.platform = latest.platform
        and window_posts.post_id = latest.post_id
    where window_posts.as_of_date = {{ run_date() }}
    {%- if month_end_due %}
    union all
    -- as of an earlier month-end: the latest snapshot at or before it (a post of the ER window
    -- has no snapshot from before its publication, hence the bound on the scan)
    select window_posts.*, metrics.engagements, metrics.views
    from (select * from window_posts where as_of_date < {{ run_date() }}) as window_posts
    {%- set daily_metrics %}(
        select platform, post_id, snapshot_date, engagements, views
        from {{ ref('int_post_metrics_daily') }}
        where snapshot_date >= {{ min_as_of }} - {{ var('er_window_days') }} - 1
    ){% endset %}
    {{ asof_join(
        daily_metrics, 'metrics',
        'window_posts.platform = metrics.platform and window_posts.post_id = metrics.post_id',
        'window_posts.as_of_date', '>=', 'snapshot_date', 'platform, post_id'
    ) }}
    {%- endif %}
),

er_posts as (
    {{ qualify_select(
        '*',
        'from window_post_metrics where engagements is not null',
        'row_number() over (partition by as_of_date, platform, creator_id'
        ~ ' order by published_at desc, post_id desc) <= ' ~ var('er_max_posts')
    ) }}
),

engagement as (
    select
        er_posts.as_of_date,
        er_posts.platform,
        er_posts.creator_id,
        count(*) as er_posts,
        avg({{ safe_divide('er_posts.engagements', 'tiered.followers') }}) as engagement_rate,
        {{ safe_divide(
            'sum(er_posts.engagements) filter (where er_posts.views is not null)',
            'sum(er_posts.views) filter (where er_posts.views is not null)'
        ) }} as view_engagement_rate
    from er_posts
    inner join tiered
        on er_posts.as_of_date = tiered.as_of_date
        and er_posts.platform = tiered.platform
        and er_posts.creator_id = tiered.creator_id
    group by all
),

-- engagement trend: the weekly engagement rate (mean engagements / followers as of the date of
-- the posts published that week, metrics as of the date) over the last trend_weeks weeks, week
-- 0 the oldest; its least-squares slope per week, NULL with fewer than trend_min_weeks weeks
weekly_engagement as (
    select
        posts.as_of_date,
        posts.platform,
        posts.creator_id,
        {{ var('trend_weeks') }} - 1 - floor(
            {{ dbt.datediff('posts.published_at', end_of_day('posts.as_of_date'), 'second') }} / (7 * 86400)
        ) as week,
        avg({{ safe_divide('posts.engagements', 'tiered.followers') }}) as weekly_engagement_rate
    from window_post_metrics as posts
    inner join tiered
        on posts.as_of_date = tiered.as_of_date
        and posts.platform = tiered.platform
        and posts.creator_id = tiered.creator_id
    where posts.engagements is not null
        and {{ in_last_days('posts.published_at', 'posts.as_of_date', 7 * var('trend_weeks')) }}
    group by all
),

trend as (
    select
        as_of_date,
        platform,
        creator_id,
        count(weekly_engagement_rate) as trend_weeks,
        case when count(weekly_engagement_rate) >= {{ var('trend_min_weeks') }}
            then regr_slope(weekly_engagement_rate, week)
        end as engagement_trend
    from weekly_engagement
    group by all
),

-- comments created in the last 30 days on the account's posts; spam (emoji-only, generic, or a
-- duplicate: per commenter where the platform names one) is counted
-- apart and left out of sentiment
recent_comments as (
    select
        as_of_dates.as_of_date,
        comments.*,
        {{ comment_is_spam('as_of_dates.as_of_date, comments.platform, comments.creator_id') }} as is_spam
    from as_of_dates
    inner join (
        select * from {{ ref('int_comment_features') }}
        where published_at > {{ end_of_day(min_as_of) }} - {{ days_interval(var('sentiment_window_days')) }}
    ) as comments
        on {{ in_last_days('comments.published_at', 'as_of_dates.as_of_date', var('sentiment_window_days')) }}
),

sentiment as (
    select
        as_of_date,
        platform,
        creator_id,
        count(*) as comments_30d,
        count(*) filter (where is_scored and not is_spam) as scored_comments,
        count(*) filter (where not is_scored and not is_spam) as unscored_comments,
        count(*) filter (where is_spam) as spam_comments,
        count(*) filter (
            where is_scored and not is_spam and compound >= {{ var('sentiment_positive_threshold') }}
        ) as positive_comments,
        count(*) filter (
            where is_scored and not is_spam and compound <= {{ var('sentiment_negative_threshold') }}
        ) as negative_comments,
        count(*) filter (
            where is_scored and not is_spam
                and compound < {{ var('sentiment_positive_threshold') }}
                and compound > {{ var('sentiment_negative_threshold') }}
        ) as neutral_comments,
        avg(compound) filter (where is_scored and not is_spam) as sentiment_score,
        {{ safe_divide(
            'count(*) filter (where is_scored and not is_spam and compound >= ' ~ var('sentiment_positive_threshold') ~ ')',
            'count(*) filter (where is_scored and not is_spam)'
        ) }} as positive_comment_share,
        {{ safe_divide(
            'count(*) filter (where is_scored and not is_spam and compound <= ' ~ var('sentiment_negative_threshold') ~ ')',
            'count(*) filter (where is_scored and not is_spam)'
        ) }} as negative_comment_share,
        100 * {{ safe_divide('count(*) filter (where not is_spam)', 'count(*)') }} as comment_authenticity_score
    from recent_comments
    group by all
),

-- largest one-day follower gain against the typical daily gain over the spike window; a gap
-- between two snapshots longer than the window gives no daily gain (so the scan stops there)
daily_gains as (
    select
        platform,
        creator_id,
        snapshot_date,
        case when {{ days_between('lag(snapshot_date) over w', 'snapshot_date') }}
                <= {{ var('aqs_spike_window_days') }} then
            {{ safe_divide(
                'followers - lag(followers) over w',
                days_between('lag(snapshot_date) over w', 'snapshot_date')
            ) }}
        end as daily_gain
    from snapshots
    where snapshot_date > {{ min_as_of }} - 2 * {{ var('aqs_spike_window_days') }}
    window w as (partition by platform, creator_id order by snapshot_date)
),

spikes as (
    select
        as_of_dates.as_of_date,
        daily_gains.platform,
        daily_gains.creator_id,
        count(daily_gains.daily_gain) as gain_days,
        max(daily_gains.daily_gain) as max_daily_gain,
        -- typical size of a day's change (up or down), so a declining account is not 'spiking'
        median(abs(daily_gains.daily_gain)) as typical_daily_gain
    from as_of_dates
    inner join daily_gains
        on daily_gains.snapshot_date <= as_of_dates.as_of_date
        and daily_gains.snapshot_date > as_of_dates.as_of_date - {{ var('aqs_spike_window_days') }}
    where daily_gains.daily_gain is not null
    group by all
),

combined as (
    select
        tiered.as_of_date,
        tiered.platform,
        tiered.creator_id,
        tiered.account_id,
        tiered.first_seen_date,
        tiered.followers_snapshot_date,
        tiered.followers,
        tiered.following,
        tiered.followers_hidden,
        tiered.tier,
        tiered.follower_growth_30d,
        tiered.follower_growth_7d,
        trend.engagement_trend,
        coalesce(trend.trend_weeks, 0) as trend_weeks,
        engagement.er_posts,
        engagement.engagement_rate,
        engagement.view_engagement_rate,
        -- accounts with a known engagement_rate in the platform x tier: the percentile's peers;
        -- below the seed's minimum the percentile is NULL
        count(engagement.engagement_rate) over (
            partition by tiered.as_of_date, tiered.platform, tiered.tier
        ) as er_percentile_peers,
        case
            when engagement.engagement_rate is not null
                and count(engagement.engagement_rate) over (
                    partition by tiered.as_of_date, tiered.platform, tiered.tier
                ) >= (
                    select min_peers from {{ ref('percentile_min_peers') }}
                    where percentile = 'er_percentile_in_tier'
                )
            then percent_rank() over (
                partition by tiered.as_of_date, tiered.platform, tiered.tier, engagement.engagement_rate is not null
                order by engagement.engagement_rate
            ) * 100
        end as er_percentile_in_tier,
        median(engagement.engagement_rate) over (
            partition by tiered.as_of_date, tiered.platform, tiered.tier
        ) as tier_median_engagement_rate,
        coalesce(sentiment.comments_30d, 0) as comments_30d,
        coalesce(sentiment.scored_comments, 0) as scored_comments,
        coalesce(sentiment.unscored_comments, 0) as unscored_comments,
        coalesce(sentiment.spam_comments, 0) as spam_comments,
        coalesce(sentiment.positive_comments, 0) as positive_comments,
        coalesce(sentiment.neutral_comments, 0) as neutral_comments,
        coalesce(sentiment.negative_comments, 0) as negative_comments,
        sentiment.sentiment_score,
        sentiment.positive_comment_share,
        sentiment.negative_comment_share,
        sentiment.comment_authenticity_score,
        spikes.max_daily_gain,
        spikes.typical_daily_gain,
        spikes.gain_days
    from tiered
    left join engagement
        on tiered.as_of_date = engagement.as_of_date
        and tiered.platform = engagement.platform
        and tiered.creator_id = engagement.creator_id
    left join trend
        on tiered.as_of_date = trend.as_of_date
        and tiered.platform = trend.platform
        and tiered.creator_id = trend.creator_id
    left join sentiment
        on tiered.as_of_date = sentiment.as_of_date
        and tiered.platform = sentiment.platform
        and tiered.creator_id = sentiment.creator_id
    left join spikes
        on tiered.as_of_date = spikes.as_of_date
        and tiered.platform = spikes.platform
        and tiered.creator_id = spikes.creator_id
),

components as (
    select
        *,
        -- 1. follower spike: 100 while the largest daily gain stays within aqs_spike_ok_ratio x
        --    the typical daily change (at least aqs_min_typical_gain followers and
        --    aqs_min_typical_gain_rate x followers), then falling as ok_ratio / spike_ratio
        case
            when gain_days is null or gain_days < 2 then null
            when max_daily_gain <= 0 then 100.0
            else 100.0 * least(1.0,
                {{ var('aqs_spike_ok_ratio') }} * greatest(
                    typical_daily_gain,
                    {{ var('aqs_min_typical_gain') }},
                    coalesce(followers, 0) * {{ var('aqs_min_typical_gain_rate') }}
                ) / max_daily_gain)
        end as follower_spike_score,
        -- 2. engagement consistency: engagement_rate / platform x tier median, full marks from
        --    aqs_consistency_full_ratio of the median upwards
        -- (DuckDB's least() skips NULLs, so a NULL ratio is handled explicitly: NULL score)
        case when engagement_rate is not null and tier_median_engagement_rate > 0 then
            100.0 * least(1.0, {{ safe_divide(
                safe_divide('engagement_rate', 'tier_median_engagement_rate'),
                var('aqs_consistency_full_ratio')
            ) }})
        end as engagement_consistency_score,
        -- 4. follow ratio: 100 x (1 - min(1, following / followers)) where following is reported
        case when following is not null and followers > 0 then
            100.0 * (1 - least(1.0, {{ safe_divide('following', 'followers') }}))
        end as follow_ratio_score
    from combined
),

weights as (
    select
        max(weight) filter (where component = 'follower_spike') as w_spike,
        max(weight) filter (where component = 'engagement_consistency') as w_consistency,
        max(weight) filter (where component = 'comment_authenticity') as w_comments,
        max(weight) filter (where component = 'follow_ratio') as w_follow
    from {{ ref('audience_quality_weights') }}
)

select
    components.*,
    -- weighted mean of the components that are known (weights re-normalised over them),
    -- rounded to 6 decimals so float noise never leaves 0-100
    round({{ safe_divide(
        'coalesce(w_spike * follower_spike_score, 0) + coalesce(w_consistency * engagement_consistency_score, 0)'
        ~ ' + coalesce(w_comments * comment_authenticity_score, 0) + coalesce(w_follow * follow_ratio_score, 0)',
        'case when follower_spike_score is null then 0 else w_spike end'
        ~ ' + case when engagement_consistency_score is null then 0 else w_consistency end'
        ~ ' + case when comment_authenticity_score is null then 0 else w_comments end'
        ~ ' + case when follow_ratio_score is null then 0 else w_follow end'
    ) }}, 6) as audience_quality_score
from components
cross join weights
