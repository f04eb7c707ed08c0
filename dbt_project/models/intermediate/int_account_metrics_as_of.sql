-- Every account metric of METRICS.md "Per creator account", computed as of several dates:
-- the run date D and the last day of every earlier month with data (platform_comparison's
-- months). creator_scorecard is the D slice; platform_comparison reads the month-end slices.
with snapshots as (
    select * from {{ ref('int_account_snapshots_unioned') }}
    where snapshot_date <= {{ run_date() }}
),

as_of_dates as (
    select distinct least(last_day(snapshot_date), {{ run_date() }}) as as_of_date
    from snapshots
),

accounts as (
    select platform, creator_id, min(snapshot_date) as first_seen_date
    from snapshots
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
    asof inner join snapshots
        on grid.platform = snapshots.platform
        and grid.creator_id = snapshots.creator_id
        and grid.as_of_date >= snapshots.snapshot_date
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
    asof inner join snapshots
        on current_snapshot.platform = snapshots.platform
        and current_snapshot.creator_id = snapshots.creator_id
        and current_snapshot.as_of_date - {{ var('growth_lookback_days') }} >= snapshots.snapshot_date
    where snapshots.snapshot_date >= current_snapshot.as_of_date
        - {{ var('growth_lookback_days') }} - {{ var('growth_tolerance_days') }}
),

tiers as (
    select * from {{ ref('tier_thresholds') }}
),

tiered as (
    select
        current_snapshot.*,
        case when current_snapshot.followers is null then 'unknown' else tiers.tier end as tier,
        {{ safe_divide('current_snapshot.followers', 'growth_baseline.baseline_followers') }} - 1 as follower_growth_30d
    from current_snapshot
    left join tiers
        on current_snapshot.followers >= tiers.min_followers
        and (tiers.max_followers is null or current_snapshot.followers < tiers.max_followers)
    left join growth_baseline
        on current_snapshot.as_of_date = growth_baseline.as_of_date
        and current_snapshot.platform = growth_baseline.platform
        and current_snapshot.creator_id = growth_baseline.creator_id
),

-- the account's latest 12 posts published in the last 90 days with known engagements,
-- with their metrics as of the date
window_posts as (
    select as_of_dates.as_of_date, posts.platform, posts.post_id, posts.creator_id, posts.published_at
    from as_of_dates
    inner join {{ ref('int_posts_unioned') }} as posts
        on {{ in_last_days('posts.published_at', 'as_of_dates.as_of_date', var('er_window_days')) }}
        and posts.first_seen_date <= as_of_dates.as_of_date
),

window_post_metrics as (
    select window_posts.*, metrics.engagements, metrics.views
    from window_posts
    asof inner join {{ ref('int_post_metrics_daily') }} as metrics
        on window_posts.platform = metrics.platform
        and window_posts.post_id = metrics.post_id
        and window_posts.as_of_date >= metrics.snapshot_date
),

er_posts as (
    select *
    from window_post_metrics
    where engagements is not null
    qualify row_number() over (
        partition by as_of_date, platform, creator_id order by published_at desc, post_id desc
    ) <= {{ var('er_max_posts') }}
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

-- comments created in the last 30 days on the account's posts
recent_comments as (
    select
        as_of_dates.as_of_date,
        comments.*,
        count(*) over (
            partition by as_of_dates.as_of_date, comments.platform, comments.creator_id, comments.normalised_text
        ) as same_text_on_account
    from as_of_dates
    inner join {{ ref('int_comment_features') }} as comments
        on {{ in_last_days('comments.published_at', 'as_of_dates.as_of_date', var('sentiment_window_days')) }}
),

sentiment as (
    select
        as_of_date,
        platform,
        creator_id,
        count(*) as comments_30d,
        count(*) filter (where is_scored) as scored_comments,
        count(*) filter (where not is_scored) as unscored_comments,
        avg(compound) filter (where is_scored) as sentiment_score,
        {{ safe_divide(
            'count(*) filter (where is_scored and compound >= ' ~ var('sentiment_positive_threshold') ~ ')',
            'count(*) filter (where is_scored)'
        ) }} as positive_comment_share,
        {{ safe_divide(
            'count(*) filter (where is_scored and compound <= ' ~ var('sentiment_negative_threshold') ~ ')',
            'count(*) filter (where is_scored)'
        ) }} as negative_comment_share,
        100 * {{ safe_divide(
            "count(*) filter (where not is_emoji_only and not is_generic and same_text_on_account = 1)",
            'count(*)'
        ) }} as comment_authenticity_score
    from recent_comments
    group by all
),

-- largest one-day follower gain against the typical daily gain over the spike window
daily_gains as (
    select
        platform,
        creator_id,
        snapshot_date,
        {{ safe_divide(
            'followers - lag(followers) over w',
            'date_diff(\'day\', lag(snapshot_date) over w, snapshot_date)'
        ) }} as daily_gain
    from snapshots
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
        engagement.er_posts,
        engagement.engagement_rate,
        engagement.view_engagement_rate,
        case when engagement.engagement_rate is not null then
            percent_rank() over (
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
