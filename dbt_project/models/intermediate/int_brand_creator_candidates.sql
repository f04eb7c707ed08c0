-- Every brand x creator account whose niche is related to the brand's category, with the
-- matching features as of D (cutoff D + 1). The niche rule (docs/matching.md): a candidate is
-- dropped when its niche is known, the brand's category is known and they are neither equal
-- nor adjacent in seed niche_adjacency; an unknown niche or category keeps the candidate.
-- fee_usd is an estimate (no contract yet): the account's median past fee, else its followers
-- x the platform's median fee per follower over the contracts so far.
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

features as (
    select * from {{ ref('int_account_features_at_cutoff') }}
    where cutoff_date = {{ run_date() }} + 1
),

fee_rates as (
    select
        contracts.platform,
        median({{ safe_divide('contracts.cost_usd', 'accounts.followers') }}) as fee_per_follower
    from {{ ref('fct_campaign_creator_performance') }} as contracts
    inner join accounts
        on contracts.platform = accounts.platform and contracts.creator_id = accounts.creator_id
    where contracts.start_date <= {{ run_date() }} and accounts.followers > 0
    group by all
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
        coalesce(features.past_fee_usd, accounts.followers * fee_rates.fee_per_follower) as fee_usd,
        accounts.audience_quality_score,
        accounts.er_percentile_in_tier
    from brands
    cross join accounts
    left join creators on accounts.creator_id = creators.creator_id
    left join adjacency
        on lower(adjacency.niche) = lower(brands.category)
        and lower(adjacency.adjacent_niche) = lower(creators.niche)
    left join {{ ref('int_brand_creator_topic_similarity') }} as topics
        on brands.brand_id = topics.brand_id
        and accounts.platform = topics.platform
        and accounts.creator_id = topics.creator_id
    left join features
        on accounts.platform = features.platform and accounts.creator_id = features.creator_id
    left join fee_rates on accounts.platform = fee_rates.platform
)

select
    cast(brand_id as varchar) as brand_id,
    cast(creator_id as varchar) as creator_id,
    cast(platform as varchar) as platform,
    cast(niche_relation as varchar) as niche_relation,
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
    cast(er_percentile_in_tier as double) as er_percentile_in_tier
from pairs
where niche_relation is distinct from 'unrelated'
