{{ config(materialized='view', tags=['published']) }}
-- One row per post with its latest metrics as of D and its earned media value.
-- A view: each post's latest metrics are kept incrementally (int_post_metrics_latest), and
-- every row's as_of_date is D, so a table would rewrite every post ever seen each day (its
-- cost grew with the history). Publish materializes the view into serving/.
-- emv_usd = likes x per_like + comments x per_comment + shares x per_share + saves x per_save
--           + views / 1000 x per_1000_views (platform's rate card; an unreported metric adds 0;
--           NULL when no metric at all is known).
with metrics as (
    select * from {{ ref('int_post_metrics_latest') }}
),

rate_card as (
    select * from {{ ref('emv_rate_card') }}
),

campaigns as (
    select
        platform,
        post_id,
        count(distinct campaign_id) as campaign_count,
        min(campaign_id) as only_campaign_id
    from {{ ref('int_campaign_posts_attributed') }}
    group by platform, post_id
)

select
    cast(metrics.post_id as {{ dbt.type_string() }}) as post_id,
    cast(metrics.platform as {{ dbt.type_string() }}) as platform,
    cast(metrics.creator_id as {{ dbt.type_string() }}) as creator_id,
    cast(metrics.account_id as {{ dbt.type_string() }}) as account_id,
    cast(metrics.published_at as timestamp) as published_at,
    cast({{ run_date() }} as date) as as_of_date,
    cast(metrics.snapshot_date as date) as metrics_snapshot_date,
    cast(metrics.views as bigint) as views,
    cast(metrics.reach as bigint) as reach,
    cast(metrics.likes as bigint) as likes,
    cast(metrics.comments as bigint) as comments,
    cast(metrics.shares as bigint) as shares,
    cast(metrics.saves as bigint) as saves,
    cast(metrics.engagements as bigint) as engagements,
    cast(case
        when coalesce(metrics.likes, metrics.comments, metrics.shares, metrics.saves, metrics.views) is null then null
        else coalesce(metrics.likes, 0) * rate_card.per_like
            + coalesce(metrics.comments, 0) * rate_card.per_comment
            + coalesce(metrics.shares, 0) * rate_card.per_share
            + coalesce(metrics.saves, 0) * rate_card.per_save
            + coalesce(metrics.views, 0) / 1000.0 * rate_card.per_1000_views
    end as double) as emv_usd,
    cast(case when campaigns.campaign_count = 1 then campaigns.only_campaign_id end as {{ dbt.type_string() }}) as campaign_id,
    cast(coalesce(campaigns.campaign_count, 0) as integer) as campaign_count,
    cast(metrics.insights_as_of as date) as insights_as_of
from metrics
left join rate_card on metrics.platform = rate_card.platform
left join campaigns on metrics.platform = campaigns.platform and metrics.post_id = campaigns.post_id
