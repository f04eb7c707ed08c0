-- Every brand x creator account whose niche is related to the brand's category, with the
-- matching features as of D (cutoff D + 1). The niche rule (docs/matching.md): a candidate is
-- dropped when its niche is known, the brand's category is known and they are neither equal
-- nor adjacent in seed niche_adjacency; an unknown niche, an unknown category or a category
-- that is not a niche of the seed (nothing to judge by) keeps the candidate.
-- fee_usd is an estimate (no contract yet): the account's median past fee, else the median
-- cost of the contracts so far of accounts of its platform and tier (as of D), else of its
-- platform.
with brands as (
    select * from {{ ref('stg_exports__brands') }}
),

accounts as (
    select * from {{ ref('creator_scorecard') }}
),

creators as (
    select creator_id, niche, country from {{ ref('dim_creators') }}
),

adjacency as (
    select * from {{ ref('niche_adjacency') }}
),

known_category as (
    select distinct lower(niche) as niche from adjacency
),

features as (
    select * from {{ ref('int_account_features_at_cutoff') }}
    where cutoff_date = {{ run_date() }} + 1
),

-- median contract cost per platform x tier (tier of the account as of D), and per platform
contract_costs as (
    select contracts.platform, accounts.tier, contracts.cost_usd
    from {{ ref('fct_campaign_creator_performance') }} as contracts
    inner join accounts
        on contracts.platform = accounts.platform and contracts.creator_id = accounts.creator_id
    where contracts.start_date <= {{ run_date() }} and contracts.cost_usd is not null
),

tier_fees as (
    select platform, tier, median(cost_usd) as median_fee_usd from contract_costs group by all
),

platform_fees as (
    select platform, median(cost_usd) as median_fee_usd from contract_costs group by all
),

pairs as (
    select
        brands.brand_id,
        accounts.creator_id,
        accounts.platform,
        {{ niche_relation('creators.niche', 'brands.category') }} as niche_relation,
        {{ country_match('creators.country', 'brands.target_countries') }} as country_match,
        coalesce(topics.topic_similarity, 0.0) as topic_similarity,
        features.er_posts,
        features.engagements_per_post,
        features.engagement_trend,
        features.followers,
        features.engagement_rate,
        features.comment_authenticity_score,
        features.sentiment_score,
        features.past_cpe_usd,
        coalesce(features.past_fee_usd, tier_fees.median_fee_usd, platform_fees.median_fee_usd) as fee_usd,
        accounts.audience_quality_score,
        accounts.er_percentile_in_tier,
        accounts.er_percentile_peers
    from brands
    cross join accounts
    left join creators on accounts.creator_id = creators.creator_id
    left join adjacency
        on lower(adjacency.niche) = lower(brands.category)
        and lower(adjacency.adjacent_niche) = lower(creators.niche)
    left join known_category on known_category.niche = lower(brands.category)
    left join {{ ref('int_brand_creator_topic_similarity') }} as topics
        on brands.brand_id = topics.brand_id
        and accounts.platform = topics.platform
        and accounts.creator_id = topics.creator_id
    left join features
        on accounts.platform = features.platform and accounts.creator_id = features.creator_id
    left join tier_fees on accounts.platform = tier_fees.platform and accounts.tier = tier_fees.tier
    left join platform_fees on accounts.platform = platform_fees.platform
)

select
    cast(brand_id as {{ dbt.type_string() }}) as brand_id,
    cast(creator_id as {{ dbt.type_string() }}) as creator_id,
    cast(platform as {{ dbt.type_string() }}) as platform,
    cast(niche_relation as {{ dbt.type_string() }}) as niche_relation,
    cast(country_match as double) as country_match,
    cast(topic_similarity as double) as topic_similarity,
    cast(er_posts as integer) as er_posts,
    cast(engagements_per_post as double) as engagements_per_post,
    cast(engagement_trend as double) as engagement_trend,
    cast(followers as bigint) as followers,
    cast(engagement_rate as double) as engagement_rate,
    cast(comment_authenticity_score as double) as comment_authenticity_score,
    cast(sentiment_score as double) as sentiment_score,
    cast(past_cpe_usd as double) as past_cpe_usd,
    cast(fee_usd as double) as fee_usd,
    cast(audience_quality_score as double) as audience_quality_score,
    cast(er_percentile_in_tier as double) as er_percentile_in_tier,
    cast(er_percentile_peers as integer) as er_percentile_peers
from pairs
where niche_relation is distinct from 'unrelated'
