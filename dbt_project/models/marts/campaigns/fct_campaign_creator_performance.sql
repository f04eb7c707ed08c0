{{ config(tags=['published']) }}
-- One row per campaign_creators row (campaign x creator x platform), as of D.
-- cost_usd = fee x USD rate of the fee currency on the campaign start date (7-day fallback);
-- revenue_usd = sum of conversion revenue x USD rate on the conversion date (7-day fallback);
-- cpm_usd = cost / views x 1000, cpe_usd = cost / engagements, cpv_usd = cost / views,
-- roi = (revenue - cost) / cost, emv_roi = (emv - cost) / cost; a zero denominator gives NULL.
-- A ratio divides the cost only by a denominator that covers what the cost bought: views
-- (engagements) known on every attributed post, else NULL; views_cost_coverage
-- (engagements_cost_coverage) is 1 then, 0 otherwise, so campaign_summary can weigh them.
-- clicks follow the conversions' platform rule; ctr = clicks / views (same row), cpc_usd = cost / clicks.
-- Conversions without a platform go to the creator's only platform in the campaign; when the
-- creator has several they stay NULL here and count only in campaign_summary.
with campaign_creators as (
    select * from {{ ref('stg_exports__campaign_creators') }}
),

campaigns as (
    select * from {{ ref('stg_exports__campaigns') }}
),

fx as (
    select * from {{ ref('int_fx_rates_filled') }}
),

platforms_per_creator as (
    select campaign_id, creator_id, count(distinct platform) as platform_count, min(platform) as only_platform
    from campaign_creators
    group by all
),

conversions as (
    select
        conversions.*,
        coalesce(
            conversions.platform,
            case when platforms_per_creator.platform_count = 1 then platforms_per_creator.only_platform end
        ) as attributed_platform,
        conversions.revenue * {{ usd_per_unit('conversions.currency', 'fx.usd_per_unit') }} as revenue_usd
    from {{ ref('stg_exports__conversions') }} as conversions
    left join platforms_per_creator
        on conversions.campaign_id = platforms_per_creator.campaign_id
        and conversions.creator_id = platforms_per_creator.creator_id
    left join fx on conversions.currency = fx.currency and conversions.conversion_date = fx.date
    where conversions.conversion_date <= {{ run_date() }}
),

conversions_by_creator as (
    select
        campaign_id,
        creator_id,
        count(*) filter (where attributed_platform is null) as unattributed_rows
    from conversions
    group by all
),

conversions_by_platform as (
    select
        campaign_id,
        creator_id,
        attributed_platform as platform,
        sum(orders) as conversions,
        sum(clicks) as clicks,
        -- a conversion without a usable fx rate makes the total unknown, not smaller
        case when count(*) filter (where revenue_usd is null) = 0 then sum(revenue_usd) end as revenue_usd
    from conversions
    where attributed_platform is not null
    group by all
),

posts as (
    select
        bridge.campaign_id,
        bridge.creator_id,
        bridge.platform,
        count(*) as posts,
        count(performance.views) as posts_with_views,
        count(performance.engagements) as posts_with_engagements,
        sum(performance.views) as views,
        sum(performance.reach) as reach,
        sum(performance.engagements) as engagements,
        sum(performance.emv_usd) as emv_usd
    from {{ ref('bridge_campaign_posts') }} as bridge
    inner join {{ ref('fct_post_performance') }} as performance
        on bridge.platform = performance.platform and bridge.post_id = performance.post_id
    group by all
),

-- the comments of the attributed posts (kept incrementally: int_campaign_comments_collected)
attributed_comments as (
    select *
    from {{ ref('int_campaign_comments_collected') }}
    where comment_id is not null
),

campaign_comments as (
    -- spam (macro comment_is_spam: emoji-only, generic, duplicates among the row's comments)
    -- is left out of sentiment
    select
        bridge.campaign_id,
        bridge.creator_id,
        bridge.platform,
        comments.is_scored,
        comments.compound,
        {{ comment_is_spam('bridge.campaign_id, bridge.creator_id, bridge.platform') }} as is_spam
    from {{ ref('bridge_campaign_posts') }} as bridge
    inner join attributed_comments as comments
        on bridge.platform = comments.platform and bridge.post_id = comments.post_id
),

sentiment as (
    select
        campaign_id,
        creator_id,
        platform,
        avg(compound) filter (where is_scored and not is_spam) as sentiment_score,
        count(*) filter (where is_scored and not is_spam) as scored_comments,
        count(*) filter (where is_spam) as spam_comments
    from campaign_comments
    group by all
),

joined as (
    select
        campaign_creators.campaign_id,
        campaign_creators.creator_id,
        campaign_creators.platform,
        campaigns.brand_id,
        campaigns.start_date,
        campaigns.end_date,
        campaign_creators.fee,
        campaign_creators.currency as fee_currency,
        campaign_creators.fee * {{ usd_per_unit('campaign_creators.currency', 'fx.usd_per_unit') }} as cost_usd,
        coalesce(posts.posts, 0) as posts,
        posts.posts > 0 and posts.posts_with_views = posts.posts as views_cover_posts,
        posts.posts > 0 and posts.posts_with_engagements = posts.posts as engagements_cover_posts,
        posts.views,
        posts.reach,
        posts.engagements,
        posts.emv_usd,
        case
            when coalesce(conversions_by_creator.unattributed_rows, 0) > 0 then null
            else coalesce(conversions_by_platform.conversions, 0)
        end as conversions,
        case
            when coalesce(conversions_by_creator.unattributed_rows, 0) > 0 then null
            else coalesce(conversions_by_platform.clicks, 0)
        end as clicks,
        case
            when coalesce(conversions_by_creator.unattributed_rows, 0) > 0 then null
            when conversions_by_platform.platform is null then 0.0
            else conversions_by_platform.revenue_usd
        end as revenue_usd,
        sentiment.sentiment_score,
        coalesce(sentiment.scored_comments, 0) as scored_comments,
        coalesce(sentiment.spam_comments, 0) as spam_comments
    from campaign_creators
    left join campaigns on campaign_creators.campaign_id = campaigns.campaign_id
    left join fx on campaign_creators.currency = fx.currency and campaigns.start_date = fx.date
    left join posts
        on campaign_creators.campaign_id = posts.campaign_id
        and campaign_creators.creator_id = posts.creator_id
        and campaign_creators.platform = posts.platform
    left join conversions_by_creator
        on campaign_creators.campaign_id = conversions_by_creator.campaign_id
        and campaign_creators.creator_id = conversions_by_creator.creator_id
    left join conversions_by_platform
        on campaign_creators.campaign_id = conversions_by_platform.campaign_id
        and campaign_creators.creator_id = conversions_by_platform.creator_id
        and campaign_creators.platform = conversions_by_platform.platform
    left join sentiment
        on campaign_creators.campaign_id = sentiment.campaign_id
        and campaign_creators.creator_id = sentiment.creator_id
        and campaign_creators.platform = sentiment.platform
)

select
    cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
    cast(creator_id as {{ dbt.type_string() }}) as creator_id,
    cast(platform as {{ dbt.type_string() }}) as platform,
    cast(brand_id as {{ dbt.type_string() }}) as brand_id,
    cast(start_date as date) as start_date,
    cast(end_date as date) as end_date,
    cast(fee as double) as fee,
    cast(fee_currency as {{ dbt.type_string() }}) as fee_currency,
    cast(posts as integer) as posts,
    cast(views as bigint) as views,
    cast(reach as bigint) as reach,
    cast(engagements as bigint) as engagements,
    cast(cost_usd as double) as cost_usd,
    cast(case when views_cover_posts then {{ safe_divide('cost_usd', 'views') }} * 1000 end as double) as cpm_usd,
    cast(case when engagements_cover_posts then {{ safe_divide('cost_usd', 'engagements') }} end as double) as cpe_usd,
    cast(case when views_cover_posts then {{ safe_divide('cost_usd', 'views') }} end as double) as cpv_usd,
    cast(emv_usd as double) as emv_usd,
    cast(conversions as bigint) as conversions,
    cast(revenue_usd as double) as revenue_usd,
    cast({{ safe_divide('revenue_usd - cost_usd', 'cost_usd') }} as double) as roi,
    cast({{ safe_divide('emv_usd - cost_usd', 'cost_usd') }} as double) as emv_roi,
    cast(sentiment_score as double) as sentiment_score,
    cast(scored_comments as integer) as scored_comments,
    cast(case when cost_usd is not null then case when views_cover_posts then 1.0 else 0.0 end end as double)
        as views_cost_coverage,
    cast(case when cost_usd is not null then case when engagements_cover_posts then 1.0 else 0.0 end end as double)
        as engagements_cost_coverage,
    cast(spam_comments as integer) as spam_comments,
    cast(clicks as bigint) as clicks,
    cast(case when views_cover_posts then {{ safe_divide('clicks', 'views') }} end as double) as ctr,
    cast({{ safe_divide('cost_usd', 'clicks') }} as double) as cpc_usd
from joined
