{{ config(tags=['published']) }}
-- Every brand x creator account, ranked by fit_score (0-100) = weighted mean (seed match_weights,
-- re-normalised over the components that are known) of:
--   topic_similarity      TF-IDF cosine x 100 of brand briefs/hashtags vs creator captions
--   country_match         100 when the creator's country is one of the brand's target countries, else 0
--                         (NULL when either is unknown)
--   audience_quality      the account's audience_quality_score
--   engagement_percentile the account's er_percentile_in_tier
--   price_efficiency      100 x (1 - percent_rank of the account's median past cpe_usd among
--                         accounts of the platform with a known cpe); NULL without past campaigns
--                         and when fewer accounts than the seed percentile_min_peers have one
with brands as (
    select * from {{ ref('stg_exports__brands') }}
),

accounts as (
    select * from {{ ref('creator_scorecard') }}
),

creators as (
    select creator_id, country from {{ ref('dim_creators') }}
),

topics as (
    select * from {{ ref('int_brand_creator_topic_similarity') }}
),

past_cpe as (
    select
        platform,
        creator_id,
        median(cpe_usd) as median_cpe_usd
    from {{ ref('fct_campaign_creator_performance') }}
    where cpe_usd is not null
    group by all
),

price as (
    select
        *,
        count(*) over (partition by platform) as price_efficiency_peers,
        case
            when count(*) over (partition by platform) >= (
                select min_peers from {{ ref('percentile_min_peers') }}
                where percentile = 'price_efficiency'
            )
            then 100.0 * (1 - percent_rank() over (partition by platform order by median_cpe_usd))
        end as price_efficiency
    from past_cpe
),

weights as (
    select
        max(weight) filter (where component = 'topic_similarity') as w_topic,
        max(weight) filter (where component = 'country_match') as w_country,
        max(weight) filter (where component = 'audience_quality') as w_quality,
        max(weight) filter (where component = 'engagement_percentile') as w_engagement,
        max(weight) filter (where component = 'price_efficiency') as w_price
    from {{ ref('match_weights') }}
),

components as (
    select
        brands.brand_id,
        accounts.creator_id,
        accounts.platform,
        coalesce(topics.topic_similarity, 0.0) as topic_similarity,
        case
            when creators.country is null or len(brands.target_countries) = 0 then null
            when list_contains(brands.target_countries, creators.country) then 100.0
            else 0.0
        end as country_match,
        accounts.audience_quality_score as audience_quality,
        accounts.er_percentile_in_tier as engagement_percentile,
        accounts.er_percentile_peers as engagement_percentile_peers,
        price.median_cpe_usd as past_cpe_usd,
        price.price_efficiency,
        coalesce(price.price_efficiency_peers, 0) as price_efficiency_peers
    from brands
    cross join accounts
    left join creators on accounts.creator_id = creators.creator_id
    left join topics
        on brands.brand_id = topics.brand_id
        and accounts.platform = topics.platform
        and accounts.creator_id = topics.creator_id
    left join price on accounts.platform = price.platform and accounts.creator_id = price.creator_id
),

scored as (
    select
        components.*,
        -- rounded to 6 decimals so float noise never leaves 0-100
        round({{ safe_divide(
            'coalesce(w_topic * topic_similarity, 0) + coalesce(w_country * country_match, 0)'
            ~ ' + coalesce(w_quality * audience_quality, 0) + coalesce(w_engagement * engagement_percentile, 0)'
            ~ ' + coalesce(w_price * price_efficiency, 0)',
            'case when topic_similarity is null then 0 else w_topic end'
            ~ ' + case when country_match is null then 0 else w_country end'
            ~ ' + case when audience_quality is null then 0 else w_quality end'
            ~ ' + case when engagement_percentile is null then 0 else w_engagement end'
            ~ ' + case when price_efficiency is null then 0 else w_price end'
        ) }}, 6) as fit_score
    from components
    cross join weights
)

select
    cast(brand_id as varchar) as brand_id,
    cast(creator_id as varchar) as creator_id,
    cast(platform as varchar) as platform,
    cast(fit_score as double) as fit_score,
    cast(row_number() over (
        partition by brand_id order by fit_score desc nulls last, creator_id, platform
    ) as integer) as rank,
    cast(topic_similarity as double) as topic_similarity,
    cast(country_match as double) as country_match,
    cast(audience_quality as double) as audience_quality,
    cast(engagement_percentile as double) as engagement_percentile,
    cast(past_cpe_usd as double) as past_cpe_usd,
    cast(price_efficiency as double) as price_efficiency,
    cast(price_efficiency_peers as integer) as price_efficiency_peers,
    cast(engagement_percentile_peers as integer) as engagement_percentile_peers
from scored
