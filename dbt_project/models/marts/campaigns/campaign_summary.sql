{{ config(tags=['published']) }}
-- One row per campaign as of D. Posts, views, engagements and EMV count each attributed post
-- once; revenue includes every conversion of the campaign (also those that could not be given
-- a platform); cost_usd is NULL when a fee has no usable fx rate (that row is unpriced).
-- cpm_usd and cpv_usd (cpe_usd) divide only the cost of the creator rows whose views
-- (engagements) are known on every attributed post by those rows' views (engagements):
-- numerator and denominator cover the same rows; views_cost_coverage
-- (engagements_cost_coverage) = that cost / cost_usd says how much of the spend they price.
-- clicks count every conversion row of the campaign; ctr = clicks / views over the creator
-- rows where both are known; cpc_usd = cost_usd / clicks.
with campaigns as (
    select * from {{ ref('stg_exports__campaigns') }}
),

brands as (
    select brand_id, brand_name from {{ ref('stg_exports__brands') }}
),

creators as (
    select
        campaign_id,
        count(distinct creator_id) as creators,
        case when count(*) filter (where cost_usd is null) = 0 then sum(cost_usd) end as cost_usd,
        sum(cost_usd) filter (where views_cost_coverage = 1) as views_priced_cost_usd,
        sum(views) filter (where views_cost_coverage = 1) as views_priced_views,
        sum(cost_usd) filter (where engagements_cost_coverage = 1) as engagements_priced_cost_usd,
        sum(engagements) filter (where engagements_cost_coverage = 1) as engagements_priced_engagements,
        sum(clicks) filter (where clicks is not null and views_cost_coverage = 1) as ctr_clicks,
        sum(views) filter (where clicks is not null and views_cost_coverage = 1) as ctr_views
    from {{ ref('fct_campaign_creator_performance') }}
    group by all
),

posts as (
    select
        bridge.campaign_id,
        count(*) as posts,
        sum(performance.views) as views,
        sum(performance.engagements) as engagements,
        sum(performance.emv_usd) as emv_usd
    from {{ ref('bridge_campaign_posts') }} as bridge
    inner join {{ ref('fct_post_performance') }} as performance
        on bridge.platform = performance.platform and bridge.post_id = performance.post_id
    group by all
),

fx as (
    select * from {{ ref('int_fx_rates_filled') }}
),

revenue as (
    select
        conversions.campaign_id,
        sum(conversions.orders) as conversions,
        sum(conversions.clicks) as clicks,
        case
            when count(*) filter (where {{ usd_per_unit('conversions.currency', 'fx.usd_per_unit') }} is null) = 0
            then sum(conversions.revenue * {{ usd_per_unit('conversions.currency', 'fx.usd_per_unit') }})
        end as revenue_usd
    from {{ ref('stg_exports__conversions') }} as conversions
    left join fx on conversions.currency = fx.currency and conversions.conversion_date = fx.date
    where conversions.conversion_date <= {{ run_date() }}
    group by all
)

select
    cast(campaigns.campaign_id as varchar) as campaign_id,
    cast(campaigns.brand_id as varchar) as brand_id,
    cast(campaigns.campaign_name as varchar) as name,
    cast(campaigns.objective as varchar) as objective,
    cast(campaigns.start_date as date) as start_date,
    cast(campaigns.end_date as date) as end_date,
    cast(campaigns.hashtag as varchar) as hashtag,
    cast(coalesce(creators.creators, 0) as integer) as creators,
    cast(coalesce(posts.posts, 0) as integer) as posts,
    cast(creators.cost_usd as double) as cost_usd,
    cast(posts.views as bigint) as views,
    cast(posts.engagements as bigint) as engagements,
    cast(posts.emv_usd as double) as emv_usd,
    cast(coalesce(revenue.conversions, 0) as bigint) as conversions,
    cast(coalesce(revenue.revenue_usd, case when revenue.campaign_id is null then 0.0 end) as double) as revenue_usd,
    cast({{ safe_divide('coalesce(revenue.revenue_usd, case when revenue.campaign_id is null then 0.0 end) - creators.cost_usd', 'creators.cost_usd') }} as double) as roi,
    cast({{ safe_divide('posts.emv_usd - creators.cost_usd', 'creators.cost_usd') }} as double) as emv_roi,
    cast({{ safe_divide('creators.engagements_priced_cost_usd', 'creators.engagements_priced_engagements') }} as double) as cpe_usd,
    cast({{ safe_divide('creators.views_priced_cost_usd', 'creators.views_priced_views') }} * 1000 as double) as cpm_usd,
    cast({{ safe_divide('creators.views_priced_cost_usd', 'creators.views_priced_views') }} as double) as cpv_usd,
    cast({{ safe_divide('coalesce(creators.views_priced_cost_usd, 0)', 'creators.cost_usd') }} as double)
        as views_cost_coverage,
    cast({{ safe_divide('coalesce(creators.engagements_priced_cost_usd, 0)', 'creators.cost_usd') }} as double)
        as engagements_cost_coverage,
    cast(coalesce(revenue.clicks, 0) as bigint) as clicks,
    cast({{ safe_divide('creators.ctr_clicks', 'creators.ctr_views') }} as double) as ctr,
    cast({{ safe_divide('creators.cost_usd', 'coalesce(revenue.clicks, 0)') }} as double) as cpc_usd,
    cast(brands.brand_name as varchar) as brand_name
from campaigns
left join brands on campaigns.brand_id = brands.brand_id
left join creators on campaigns.campaign_id = creators.campaign_id
left join posts on campaigns.campaign_id = posts.campaign_id
left join revenue on campaigns.campaign_id = revenue.campaign_id
