-- Matching features of a creator account as of a cutoff date C, from records whose event time
-- is before C only (published_at < C 00:00 UTC, snapshot_date < C, contracts ended before C):
-- nothing from on or after C can reach a feature (docs/matching.md, "No leakage").
-- Cutoffs: the start date of each of the account's contracts (features of a past campaign as
-- of its start) and D + 1 for every account (features of a candidate today).
-- A post's engagements are its latest observed counts: those of a post published before C,
-- which saturate within days of publication.
with contracts as (
    select * from {{ ref('fct_campaign_creator_performance') }}
),

snapshots as (
    select platform, creator_id, snapshot_date, followers
    from {{ ref('int_account_snapshots_unioned') }}
    where snapshot_date <= {{ run_date() }}
),

contract_cutoffs as (
    select distinct platform, creator_id, start_date as cutoff_date
    from contracts
    where start_date <= {{ run_date() }}
),

-- D + 1's cutoff for every account, with its followers: the latest snapshot (an aggregate,
-- not an as-of join that sorts them all; one pass over the snapshots gives both)
today_followers as (
    select
        platform,
        creator_id,
        {{ run_date() }} + 1 as cutoff_date,
        {{ latest_value('followers', 'snapshot_date') }} as followers
    from snapshots
    group by platform, creator_id
),

today_cutoffs as (
    select platform, creator_id, cutoff_date from today_followers
),

cutoffs as (
    select * from contract_cutoffs
    union
    select * from today_cutoffs
),

-- Each cutoff's window is found among a bounded part of the landed records, so that the daily
-- cost follows the windows, not the history: D + 1's windows start at one time for every
-- account, so their posts and comments are picked by a range on the stored column (which
-- prunes stored blocks); the contracts' cutoffs, a few thousand, read only their accounts'.
{%- set today = "cast(" ~ run_date() ~ " + 1 as timestamp)" %}
{%- set of_contract_accounts = "exists (select 1 from contract_cutoffs where contract_cutoffs.platform = records.platform and contract_cutoffs.creator_id = records.creator_id)" %}
{%- for cutoffs_of, keep in [
    ('contract', of_contract_accounts),
    ('today', "records.published_at >= " ~ today ~ " - " ~ days_interval(var('er_window_days'))),
] %}

{{ cutoffs_of }}_posts as (
    select records.platform, records.creator_id, records.post_id, records.published_at, latest.engagements
    from {{ ref('int_posts_unioned') }} as records
    inner join {{ ref('int_post_metrics_latest') }} as latest
        on records.platform = latest.platform and records.post_id = latest.post_id
    where latest.engagements is not null and {{ keep }}
),
{%- endfor %}
{%- for cutoffs_of, keep in [
    ('contract', of_contract_accounts),
    ('today', "records.published_at >= " ~ today ~ " - " ~ days_interval(var('sentiment_window_days'))),
] %}

{{ cutoffs_of }}_comments as (
    select records.*
    from {{ ref('int_comment_features') }} as records
    where {{ keep }}
),
{%- endfor %}

-- posts of the ER window before the cutoff
window_posts as (
    {{ records_in_cutoff_windows(
        'posts',
        'records.post_id, records.published_at, records.engagements, records.published_at >= '
        ~ 'cast(cutoffs.cutoff_date as timestamp) - ' ~ days_interval(var('match_trend_recent_days'))
        ~ ' as is_recent',
        var('er_window_days')
    ) }}
),

-- the latest er_max_posts of them, as engagement_rate does
latest_posts as (
    {{ qualify_select(
        '*',
        'from window_posts',
        'row_number() over (partition by platform, creator_id, cutoff_date'
        ~ ' order by published_at desc, post_id desc) <= ' ~ var('er_max_posts')
    ) }}
),

engagement as (
    select platform, creator_id, cutoff_date, count(*) as er_posts, median(engagements) as engagements_per_post
    from latest_posts
    group by all
),

-- ln(mean engagements of the recent posts / mean of the older posts of the window)
trend as (
    select
        platform,
        creator_id,
        cutoff_date,
        case when avg(engagements) filter (where is_recent) > 0
                and avg(engagements) filter (where not is_recent) > 0 then
            ln(avg(engagements) filter (where is_recent) / avg(engagements) filter (where not is_recent))
        end as engagement_trend
    from window_posts
    group by all
),

-- the comments of the sentiment window before the cutoff, one row per normalised text: emoji-only
-- and generic are properties of the text, so a text's comments are authentic together, when
-- it is neither and is there once (as creator_scorecard's, a group-by, not a window)
window_texts as (
    select
        platform,
        creator_id,
        cutoff_date,
        normalised_text,
        count(*) as comments,
        max(case when is_emoji_only or is_generic then 1 else 0 end) as is_emoji_or_generic,
        sum(case when is_scored then compound end) as compound_sum,
        count(case when is_scored then compound end) as scored_comments
    from (
        {{ records_in_cutoff_windows(
            'comments',
            'records.normalised_text, records.is_emoji_only, records.is_generic, records.is_scored, records.compound',
            var('sentiment_window_days')
        ) }}
    ) as window_comments
    group by platform, creator_id, cutoff_date, normalised_text
),

comment_features as (
    select
        platform,
        creator_id,
        cutoff_date,
        sum(comments) as window_comments,
        -- as creator_scorecard's comment_authenticity_score, over the window before the cutoff
        100 * {{ safe_divide(
            "sum(case when comments = 1 and is_emoji_or_generic = 0 then 1 else 0 end)",
            'sum(comments)'
        ) }} as comment_authenticity_score,
        {{ safe_divide('sum(compound_sum)', 'sum(scored_comments)') }} as sentiment_score
    from window_texts
    group by platform, creator_id, cutoff_date
),

-- followers: the latest snapshot before the cutoff (none when the warehouse first saw the
-- account on or after it)
contract_snapshots as (
    select records.*
    from snapshots as records
    where {{ of_contract_accounts }}
),

followers as (
    select cutoffs.platform, cutoffs.creator_id, cutoffs.cutoff_date, snapshots.followers
    from contract_cutoffs as cutoffs
    {{ asof_join(
        'contract_snapshots', 'snapshots',
        'cutoffs.platform = snapshots.platform and cutoffs.creator_id = snapshots.creator_id',
        'cutoffs.cutoff_date', '>', 'snapshot_date', 'platform, creator_id'
    ) }}
    union all
    select platform, creator_id, cutoff_date, followers from today_followers
),

past_contracts as (
    select
        cutoffs.platform,
        cutoffs.creator_id,
        cutoffs.cutoff_date,
        count(*) as past_contracts,
        median(contracts.cpe_usd) as past_cpe_usd,
        median(contracts.cost_usd) as past_fee_usd
    from cutoffs
    inner join contracts
        on cutoffs.platform = contracts.platform
        and cutoffs.creator_id = contracts.creator_id
        and contracts.end_date < cutoffs.cutoff_date
    where contracts.cpe_usd is not null
    group by all
)

select
    cast(cutoffs.platform as {{ dbt.type_string() }}) as platform,
    cast(cutoffs.creator_id as {{ dbt.type_string() }}) as creator_id,
    cast(cutoffs.cutoff_date as date) as cutoff_date,
    cast(coalesce(engagement.er_posts, 0) as integer) as er_posts,
    cast(engagement.engagements_per_post as double) as engagements_per_post,
    cast(trend.engagement_trend as double) as engagement_trend,
    cast(followers.followers as bigint) as followers,
    cast({{ safe_divide('engagement.engagements_per_post', 'followers.followers') }} as double) as engagement_rate,
    cast(coalesce(comment_features.window_comments, 0) as integer) as window_comments,
    cast(comment_features.comment_authenticity_score as double) as comment_authenticity_score,
    cast(comment_features.sentiment_score as double) as sentiment_score,
    cast(coalesce(past_contracts.past_contracts, 0) as integer) as past_contracts,
    cast(past_contracts.past_cpe_usd as double) as past_cpe_usd,
    cast(past_contracts.past_fee_usd as double) as past_fee_usd
from cutoffs
left join engagement
    on cutoffs.platform = engagement.platform
    and cutoffs.creator_id = engagement.creator_id
    and cutoffs.cutoff_date = engagement.cutoff_date
left join trend
    on cutoffs.platform = trend.platform
    and cutoffs.creator_id = trend.creator_id
    and cutoffs.cutoff_date = trend.cutoff_date
left join comment_features
    on cutoffs.platform = comment_features.platform
    and cutoffs.creator_id = comment_features.creator_id
    and cutoffs.cutoff_date = comment_features.cutoff_date
left join followers
    on cutoffs.platform = followers.platform
    and cutoffs.creator_id = followers.creator_id
    and cutoffs.cutoff_date = followers.cutoff_date
left join past_contracts
    on cutoffs.platform = past_contracts.platform
    and cutoffs.creator_id = past_contracts.creator_id
    and cutoffs.cutoff_date = past_contracts.cutoff_date
