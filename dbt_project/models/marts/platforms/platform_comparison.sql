{{ config(tags=['published']) }}
-- Month x platform x tier, plus tier = 'all', as of D. Each account is placed in its tier as of
-- the month's last day (or D for the current month). The months before a platform's first
-- snapshot that its first-sight pull covers whole (first_sight_days) are there too, tier 'all'
-- only: new voices, activity, niches, sentiment and cost are known from the landed posts, the
-- per-account measures (ER, growth, tiers, audience quality) are not (has_account_snapshots).
-- lag_index = mean over the measures (seed platform_measure_directions) of
-- |value - best value that month and tier| / (max - min) across platforms; a NULL measure is skipped; equal values everywhere give 0 for that measure.
-- accounts: each month's last slice: its month-end, or D in D's month (earlier runs' D slices
-- are kept)
with accounts as (
    {{ qualify_select(
        "cast(date_trunc('month', as_of_date) as date) as month, platform, creator_id, tier,"
        ~ " engagement_rate, follower_growth_30d, follower_growth_7d, engagement_trend,"
        ~ " audience_quality_score, true as has_snapshot",
        "from " ~ ref('int_account_metrics_as_of') ~ " where as_of_date <= " ~ run_date(),
        "as_of_date = max(as_of_date) over (partition by date_trunc('month', as_of_date))"
    ) }}
),

starts as (
    select platform, creator_id, cast(date_trunc('month', started_on) as date) as started_month
    from {{ ref('int_account_starts_dated') }}
),

first_sight as (
    -- the first-sight pull shows every post of the first_sight_days before the first snapshot
    select platform, min(first_seen_date) as first_seen_date
    from {{ ref('int_account_starts_dated') }}
    group by platform
),

history_months as (
    select distinct activity.month, activity.platform
    from {{ ref('int_creator_months_aggregated') }} as activity
    inner join first_sight on activity.platform = first_sight.platform
    where activity.month >= {{ dbt.dateadd('day', '0 - ' ~ var('first_sight_days'), 'first_sight.first_seen_date') }}
        and activity.month < cast(date_trunc('month', first_sight.first_seen_date) as date)
),

history_accounts as (
    -- accounts not known to have started after the month (an unknown start is older than the pull)
    select
        history_months.month,
        starts.platform,
        starts.creator_id,
        cast(null as {{ dbt.type_string() }}) as tier,
        cast(null as double) as engagement_rate,
        cast(null as double) as follower_growth_30d,
        cast(null as double) as follower_growth_7d,
        cast(null as double) as engagement_trend,
        cast(null as double) as audience_quality_score,
        false as has_snapshot
    from history_months
    inner join starts on history_months.platform = starts.platform
    where starts.started_month is null or starts.started_month <= history_months.month
),

spine as (
    select * from accounts
    union all
    select * from history_accounts
),

roster as (
    select creator_id, niche from {{ ref('dim_creators') }}
),

niche_count as (
    select count(distinct niche) as niches from roster where niche is not null
),

active as (
    select month, platform, creator_id
    from {{ ref('int_creator_months_aggregated') }}
    where posts_published > 0
),

comment_sentiment as (
    select month, platform, creator_id, compound_sum, scored_comments as scored
    from {{ ref('int_creator_months_aggregated') }}
    where scored_comments > 0
),

campaign_cpe as (
    select
        months.month,
        performance.platform,
        performance.creator_id,
        performance.cpe_usd
    from {{ ref('fct_campaign_creator_performance') }} as performance
    inner join (select distinct month from spine) as months
        on performance.start_date <= last_day(months.month)
        and performance.end_date >= months.month
    where performance.cpe_usd is not null
),

account_months as (
    select
        accounts.*,
        starts.started_month,
        roster.niche,
        active.creator_id is not null as is_active
    from spine as accounts
    left join starts on accounts.platform = starts.platform and accounts.creator_id = starts.creator_id
    left join roster on accounts.creator_id = roster.creator_id
    left join active
        on accounts.month = active.month
        and accounts.platform = active.platform
        and accounts.creator_id = active.creator_id
),

with_all_tier as (
    select *, tier as group_tier from account_months where has_snapshot
    union all
    select *, 'all' as group_tier from account_months
),

measures as (
    select
        month,
        platform,
        group_tier as tier,
        bool_or(has_snapshot) as has_account_snapshots,
        count(*) as tracked_creators,
        count(*) filter (where is_active) as active_creators,
        count(*) filter (where started_month = month) as new_creators,
        median(engagement_rate) as median_engagement_rate,
        median(follower_growth_30d) as median_follower_growth,
        median(follower_growth_7d) as median_follower_growth_7d,
        median(engagement_trend) as median_engagement_trend,
        {{ safe_divide(
            "count(*) filter (where is_active and tier in ('nano', 'micro'))",
            'count(*) filter (where is_active)'
        ) }} as long_tail_share,
        {{ safe_divide(
            'count(*) filter (where audience_quality_score >= ' ~ var('authentic_aqs_threshold') ~ ')',
            'count(audience_quality_score)'
        ) }} as authentic_share
    from with_all_tier
    group by all
),

niche_shares as (
    select month, platform, group_tier as tier, niche, count(*) as creators
    from with_all_tier
    where is_active and niche is not null
    group by all
),

diversity as (
    -- Shannon entropy of active creators' niches / ln(number of niches in the roster)
    select
        niche_shares.month,
        niche_shares.platform,
        niche_shares.tier,
        -- rounded to 12 decimals: an even spread is exactly 1, not 1 + float noise
        round({{ safe_divide(
            '0.0 - sum((creators / total) * ln(creators / total)) + 0.0',
            'ln(max(niche_count.niches))'
        ) }}, 12) as niche_diversity_index
    from (
        select *, sum(creators) over (partition by month, platform, tier) as total
        from niche_shares
    ) as niche_shares
    cross join niche_count
    group by all
),

sentiment as (
    select
        with_all_tier.month,
        with_all_tier.platform,
        with_all_tier.group_tier as tier,
        {{ safe_divide('sum(comment_sentiment.compound_sum)', 'sum(comment_sentiment.scored)') }} as avg_sentiment
    from with_all_tier
    inner join comment_sentiment
        on with_all_tier.month = comment_sentiment.month
        and with_all_tier.platform = comment_sentiment.platform
        and with_all_tier.creator_id = comment_sentiment.creator_id
    group by all
),

cpe as (
    select
        with_all_tier.month,
        with_all_tier.platform,
        with_all_tier.group_tier as tier,
        median(campaign_cpe.cpe_usd) as median_cpe_usd
    from with_all_tier
    inner join campaign_cpe
        on with_all_tier.month = campaign_cpe.month
        and with_all_tier.platform = campaign_cpe.platform
        and with_all_tier.creator_id = campaign_cpe.creator_id
    group by all
),

comparison as (
    select
        measures.month,
        measures.platform,
        measures.tier,
        measures.tracked_creators,
        measures.active_creators,
        measures.new_creators,
        measures.median_engagement_rate,
        measures.median_follower_growth,
        measures.median_follower_growth_7d,
        measures.median_engagement_trend,
        diversity.niche_diversity_index,
        -- (nano + micro) / active needs tiers: unknown before the first snapshot
        case when measures.has_account_snapshots then measures.long_tail_share end as long_tail_share,
        sentiment.avg_sentiment,
        cpe.median_cpe_usd,
        measures.authentic_share,
        measures.has_account_snapshots
    from measures
    left join diversity using (month, platform, tier)
    left join sentiment using (month, platform, tier)
    left join cpe using (month, platform, tier)
),

{%- set measure_columns %}
        select
            month, platform, tier,
            cast(active_creators as double) as active_creators,
            cast(new_creators as double) as new_creators,
            median_engagement_rate,
            median_follower_growth,
            niche_diversity_index,
            long_tail_share,
            avg_sentiment,
            median_cpe_usd,
            authentic_share
        from comparison
{%- endset %}

long_measures as (
    {{ unpivot_columns(
        measure_columns,
        ['month', 'platform', 'tier'],
        ['active_creators', 'new_creators', 'median_engagement_rate', 'median_follower_growth',
         'niche_diversity_index', 'long_tail_share', 'avg_sentiment', 'median_cpe_usd', 'authentic_share'],
        'measure', 'value'
    ) }}
),

distances as (
    select
        long_measures.month,
        long_measures.platform,
        long_measures.tier,
        long_measures.measure,
        -- each `... over m` in parentheses: Spark reads `over m - x` as the identifier `m-x`
        case
            when (max(long_measures.value) over m) = (min(long_measures.value) over m) then 0.0
            when directions.higher_is_better
                then ((max(long_measures.value) over m) - long_measures.value)
                    / ((max(long_measures.value) over m) - (min(long_measures.value) over m))
            else (long_measures.value - (min(long_measures.value) over m))
                / ((max(long_measures.value) over m) - (min(long_measures.value) over m))
        end as distance
    from long_measures
    inner join {{ ref('platform_measure_directions') }} as directions
        on long_measures.measure = directions.measure
    where long_measures.value is not null
    window m as (partition by long_measures.month, long_measures.tier, long_measures.measure)
),

lag as (
    select month, platform, tier, avg(distance) as lag_index, count(*) as lag_measures
    from distances
    group by all
)

select
    cast(comparison.month as date) as month,
    cast(comparison.platform as {{ dbt.type_string() }}) as platform,
    cast(comparison.tier as {{ dbt.type_string() }}) as tier,
    cast(comparison.tracked_creators as integer) as tracked_creators,
    cast(comparison.active_creators as integer) as active_creators,
    cast(comparison.new_creators as integer) as new_creators,
    cast(comparison.median_engagement_rate as double) as median_engagement_rate,
    cast(comparison.median_follower_growth as double) as median_follower_growth,
    cast(comparison.niche_diversity_index as double) as niche_diversity_index,
    cast(comparison.long_tail_share as double) as long_tail_share,
    cast(comparison.avg_sentiment as double) as avg_sentiment,
    cast(comparison.median_cpe_usd as double) as median_cpe_usd,
    cast(comparison.authentic_share as double) as authentic_share,
    cast(lag.lag_index as double) as lag_index,
    cast(coalesce(lag.lag_measures, 0) as integer) as lag_measures,
    cast(comparison.median_follower_growth_7d as double) as median_follower_growth_7d,
    cast(comparison.median_engagement_trend as double) as median_engagement_trend,
    cast(comparison.has_account_snapshots as boolean) as has_account_snapshots
from comparison
left join lag using (month, platform, tier)
