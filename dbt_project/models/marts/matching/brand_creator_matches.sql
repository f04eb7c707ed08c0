{{ config(tags=['published']) }}
-- For each brand, its candidate creator accounts (int_brand_creator_candidates: accounts whose
-- niche is unrelated to the brand's category are left out) ranked by fit_score (0-100).
-- scorer = 'model' when the matching model is trained (int_brand_creator_predictions: enough
-- past contracts with an outcome): fit_score is then calibrated from predicted_cpe_usd and the
-- contribution_* columns say why; else scorer = 'hand_weighted': fit_score = weighted mean
-- (seed match_weights, re-normalised over the components that are known) of:
--   topic_similarity      TF-IDF cosine x 100 of brand briefs/hashtags vs creator captions
--   country_match         100 when the creator's country is one of the brand's target countries, else 0
--                         (NULL when either is unknown)
--   audience_quality      the account's audience_quality_score
--   engagement_percentile the account's er_percentile_in_tier
--   price_efficiency      100 x (1 - percent_rank of the account's median past cpe_usd among
--                         accounts of the platform with a known cpe); NULL without past campaigns
--                         and when fewer accounts than the seed percentile_min_peers have one
-- The hand-weighted components stay columns in both cases.
with candidates as (
    select * from {{ ref('int_brand_creator_candidates') }}
),

predictions as (
    select * from {{ ref('int_brand_creator_predictions') }}
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
        candidates.brand_id,
        candidates.creator_id,
        candidates.platform,
        candidates.niche_relation,
        candidates.topic_similarity,
        candidates.country_match,
        candidates.audience_quality_score as audience_quality,
        candidates.er_percentile_in_tier as engagement_percentile,
        candidates.er_percentile_peers as engagement_percentile_peers,
        price.median_cpe_usd as past_cpe_usd,
        price.price_efficiency,
        coalesce(price.price_efficiency_peers, 0) as price_efficiency_peers
    from candidates
    left join price on candidates.platform = price.platform and candidates.creator_id = price.creator_id
),

hand_weighted as (
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
        ) }}, 6) as hand_weighted_score
    from components
    cross join weights
),

scored as (
    select
        hand_weighted.*,
        predictions.predicted_cpe_usd,
        predictions.contribution_topic_similarity,
        predictions.contribution_niche,
        predictions.contribution_country,
        predictions.contribution_engagement,
        predictions.contribution_engagement_trend,
        predictions.contribution_audience_size,
        predictions.contribution_audience_quality,
        predictions.contribution_sentiment,
        predictions.contribution_price,
        predictions.contribution_platform,
        predictions.model_version,
        case when predictions.brand_id is not null then 'model' else 'hand_weighted' end as scorer,
        case when predictions.brand_id is not null then predictions.fit_score else hand_weighted_score end as fit_score
    from hand_weighted
    left join predictions
        on hand_weighted.brand_id = predictions.brand_id
        and hand_weighted.creator_id = predictions.creator_id
        and hand_weighted.platform = predictions.platform
)

select
    cast(brand_id as {{ dbt.type_string() }}) as brand_id,
    cast(creator_id as {{ dbt.type_string() }}) as creator_id,
    cast(platform as {{ dbt.type_string() }}) as platform,
    cast(fit_score as double) as fit_score,
    cast(row_number() over (
        partition by brand_id
        order by fit_score desc nulls last, predicted_cpe_usd nulls last, creator_id, platform
    ) as integer) as rank,
    cast(topic_similarity as double) as topic_similarity,
    cast(country_match as double) as country_match,
    cast(audience_quality as double) as audience_quality,
    cast(engagement_percentile as double) as engagement_percentile,
    cast(past_cpe_usd as double) as past_cpe_usd,
    cast(price_efficiency as double) as price_efficiency,
    cast(price_efficiency_peers as integer) as price_efficiency_peers,
    cast(engagement_percentile_peers as integer) as engagement_percentile_peers,
    cast(scorer as {{ dbt.type_string() }}) as scorer,
    cast(niche_relation as {{ dbt.type_string() }}) as niche_relation,
    cast(hand_weighted_score as double) as hand_weighted_score,
    cast(predicted_cpe_usd as double) as predicted_cpe_usd,
    cast(contribution_topic_similarity as double) as contribution_topic_similarity,
    cast(contribution_niche as double) as contribution_niche,
    cast(contribution_country as double) as contribution_country,
    cast(contribution_engagement as double) as contribution_engagement,
    cast(contribution_engagement_trend as double) as contribution_engagement_trend,
    cast(contribution_audience_size as double) as contribution_audience_size,
    cast(contribution_audience_quality as double) as contribution_audience_quality,
    cast(contribution_sentiment as double) as contribution_sentiment,
    cast(contribution_price as double) as contribution_price,
    cast(contribution_platform as double) as contribution_platform,
    cast(model_version as {{ dbt.type_string() }}) as model_version,
    cast(brands.brand_name as {{ dbt.type_string() }}) as brand_name
from scored
left join (select brand_id, brand_name from {{ ref('stg_exports__brands') }}) as brands
    using (brand_id)
