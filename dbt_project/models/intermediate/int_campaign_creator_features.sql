-- One row per past contract (campaign x creator account) that ended by D: its features as of
-- the campaign's start (int_account_features_at_cutoff at cutoff = start_date, topic
-- similarity as of the start, niche relation and country match) and its realised outcome.
-- The model learns ln(realised_cpe_usd) from these rows (docs/matching.md).
with contracts as (
    select * from {{ ref('fct_campaign_creator_performance') }}
    where end_date <= {{ run_date() }}
),

brands as (
    select * from {{ ref('stg_exports__brands') }}
),

creators as (
    select creator_id, niche, country from {{ ref('dim_creators') }}
),

adjacency as (
    select * from {{ ref('niche_adjacency') }}
),

known_category as (
    select distinct lower(niche) as niche from adjacency
)

select
    cast(contracts.campaign_id as {{ dbt.type_string() }}) as campaign_id,
    cast(contracts.brand_id as {{ dbt.type_string() }}) as brand_id,
    cast(contracts.creator_id as {{ dbt.type_string() }}) as creator_id,
    cast(contracts.platform as {{ dbt.type_string() }}) as platform,
    cast(contracts.start_date as date) as start_date,
    cast(contracts.end_date as date) as end_date,
    cast({{ niche_relation('creators.niche', 'brands.category') }} as {{ dbt.type_string() }}) as niche_relation,
    cast({{ country_match('creators.country', 'brands.target_countries') }} as double) as country_match,
    cast(coalesce(topics.topic_similarity, 0.0) as double) as topic_similarity,
    features.er_posts,
    features.engagements_per_post,
    features.engagement_trend,
    features.followers,
    features.engagement_rate,
    features.comment_authenticity_score,
    features.sentiment_score,
    features.past_cpe_usd,
    -- the contract's price is agreed before the start
    cast(contracts.cost_usd as double) as fee_usd,
    cast(contracts.engagements as bigint) as realised_engagements,
    cast(contracts.cpe_usd as double) as realised_cpe_usd
from contracts
left join brands on contracts.brand_id = brands.brand_id
left join creators on contracts.creator_id = creators.creator_id
left join adjacency
    on lower(adjacency.niche) = lower(brands.category)
    and lower(adjacency.adjacent_niche) = lower(creators.niche)
left join known_category on known_category.niche = lower(brands.category)
left join {{ ref('int_account_features_at_cutoff') }} as features
    on contracts.platform = features.platform
    and contracts.creator_id = features.creator_id
    and contracts.start_date = features.cutoff_date
left join {{ ref('int_campaign_creator_topic_similarity') }} as topics
    on contracts.campaign_id = topics.campaign_id
    and contracts.creator_id = topics.creator_id
    and contracts.platform = topics.platform
