{{ config(**incremental_replace()) }}
-- depends_on: {{ ref('int_post_metrics_daily') }}
-- Matching features of a creator account as of a cutoff date C, from records whose event time
-- is before C only (published_at < C 00:00 UTC, snapshot_date < C, contracts ended before C):
-- nothing from on or after C can reach a feature (docs/matching.md, "No leakage").
-- Cutoffs: the start date of each of the account's contracts (features of a past campaign as
-- of its start) and D + 1 for every account (features of a candidate today).
-- A post's engagements are its latest observed counts: those of a post published before C,
-- which saturate within days of publication.
-- A daily build keeps a contract cutoff's record features (posts, comments, followers) from
-- its previous rows unless a record changed since from_date reaches them (below); the past
-- contracts and D + 1's features are computed every day, and every row is rewritten.
with contracts as (
    select * from {{ ref('fct_campaign_creator_performance') }}
),

snapshots as (
    select platform, creator_id, snapshot_date, followers
    from {{ ref('int_account_snapshots_unioned') }}
    where snapshot_date <= {{ run_date() }}
),

wanted_contract_cutoffs as (
    select distinct platform, creator_id, start_date as cutoff_date
    from contracts
    where start_date <= {{ run_date() }}
),

{%- set record_features = ['er_posts', 'engagements_per_post', 'engagement_trend', 'followers',
    'window_comments', 'comment_authenticity_score', 'sentiment_score'] %}
{% if is_incremental() %}
{#- A record reaches the features of the cutoffs after its event time: an account's stored
    contract cutoffs after the earliest event time of its records that changed since from_date
    are computed again. A post changed when a snapshot landed since then differs from its
    previous one (int_post_metrics_daily, a baseline kept gain_baseline_max_days) in
    engagements, publication time or account (both times and accounts reach cutoffs); a post
    without a baseline is new when published within the day before its snapshot, else (old,
    or back after a gap: its earlier values are not looked up) every cutoff of its account is
    computed again. Comments seen and snapshots landed since from_date: a comment's creation
    time and account, and a snapshot's date, are the same in every version of it. -#}
-- the previous build's record features
stored as (
    select platform, creator_id, cutoff_date, {{ record_features | join(', ') }}
    from {{ this }}
),

posts_landed as (
    select platform, post_id, snapshot_date, creator_id, published_at, engagements_gained, previous_snapshot_date
    from {{ ref('int_post_metrics_daily') }}
    where {{ incremental_landing_scope('landing_date') }}
),

posts_changed as (
    select landed.platform, landed.creator_id, landed.published_at, previous.creator_id as previous_creator_id,
        case
            when previous.snapshot_date is not null then least(landed.published_at, previous.published_at)
            when landed.previous_snapshot_date is null
                and landed.published_at >= cast(landed.snapshot_date as timestamp) - interval 1 day
                then landed.published_at
            else cast('1900-01-01' as timestamp)
        end as since
    from posts_landed as landed
    left join (
        select platform, post_id, snapshot_date, creator_id, published_at
        from {{ ref('int_post_metrics_daily') }}
        where snapshot_date >= {{ from_date() }} - {{ var('gain_baseline_max_days') }}
    ) as previous
        on landed.platform = previous.platform
        and landed.post_id = previous.post_id
        and landed.previous_snapshot_date = previous.snapshot_date
    where previous.snapshot_date is null
        or landed.engagements_gained is distinct from 0
        or landed.published_at is distinct from previous.published_at
        or landed.creator_id is distinct from previous.creator_id
),

-- per account, the earliest event time of its records changed since from_date
touched_since as (
    select platform, creator_id, min(since) as since
    from (
        select platform, creator_id, since from posts_changed
        union all
        select platform, previous_creator_id, since from posts_changed
        where previous_creator_id is distinct from creator_id
        union all
        select platform, creator_id, published_at
        from {{ ref('int_comment_features') }}
        where {{ incremental_landing_scope('last_seen_date') }}
        union all
        select platform, creator_id, cast(snapshot_date as timestamp)
        from {{ ref('int_account_snapshots_unioned') }}
        where {{ incremental_landing_scope('landing_date') }}
    ) as records
    where creator_id is not null
    group by platform, creator_id
),

-- the contract cutoffs computed by this build: new ones, and those a landed record reaches
contract_cutoffs as (
    select wanted.*
    from wanted_contract_cutoffs as wanted
    where not exists (
            select 1 from stored
            where stored.platform = wanted.platform
                and stored.creator_id = wanted.creator_id
                and stored.cutoff_date = wanted.cutoff_date
        )
        or exists (
            select 1 from touched_since
            where touched_since.platform = wanted.platform
                and touched_since.creator_id = wanted.creator_id
                and touched_since.since < cast(wanted.cutoff_date as timestamp)
        )
),
{% else %}
contract_cutoffs as (
    select * from wanted_contract_cutoffs
),
{% endif %}

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
    select * from wanted_contract_cutoffs
    union all
    select * from today_cutoffs
),

-- Each cutoff's window is found among a bounded part of the landed records, so that the daily
-- cost follows the windows, not the history: D + 1's windows start at one time for every
-- account, so their posts and comments are picked by a range on the stored column (which
-- prunes stored blocks); the contract cutoffs this build computes (all on a full refresh, the
-- new and the reached ones on a daily build) read only their accounts'.
{%- set today = "cast(" ~ run_date() ~ " + 1 as timestamp)" %}
{%- set of_contract_accounts = "exists (select 1 from contract_cutoffs where contract_cutoffs.platform = records.platform and contract_cutoffs.creator_id = records.creator_id)" %}
{%- for cutoffs_of, keep in [
    ('contract', of_contract_accounts),
    ('today', "records.published_at >= " ~ today ~ " - " ~ days_interval(var('er_window_days'))),
] %}

{{ cutoffs_of }}_posts as (
    -- a post's account, publication time and engagements of its latest snapshot
    select records.platform, records.creator_id, records.post_id, records.published_at, records.engagements
    from {{ ref('int_post_metrics_latest') }} as records
    where records.engagements is not null and {{ keep }}
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
),

-- the record features of the cutoffs this build computes
computed as (
    select
        cutoffs.platform,
        cutoffs.creator_id,
        cutoffs.cutoff_date,
        coalesce(engagement.er_posts, 0) as er_posts,
        engagement.engagements_per_post,
        trend.engagement_trend,
        followers.followers,
        coalesce(comment_features.window_comments, 0) as window_comments,
        comment_features.comment_authenticity_score,
        comment_features.sentiment_score
    from (
        select * from contract_cutoffs
        union all
        select * from today_cutoffs
    ) as cutoffs
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
),

-- with the kept ones: the stored record features of the other contract cutoffs
record_features as (
    select * from computed
    {%- if is_incremental() %}
    union all by name
    select stored.*
    from stored
    semi join wanted_contract_cutoffs as wanted
        on stored.platform = wanted.platform
        and stored.creator_id = wanted.creator_id
        and stored.cutoff_date = wanted.cutoff_date
    anti join contract_cutoffs as recomputed
        on stored.platform = recomputed.platform
        and stored.creator_id = recomputed.creator_id
        and stored.cutoff_date = recomputed.cutoff_date
    {%- endif %}
)

select
    cast(features.platform as {{ dbt.type_string() }}) as platform,
    cast(features.creator_id as {{ dbt.type_string() }}) as creator_id,
    cast(features.cutoff_date as date) as cutoff_date,
    cast(features.er_posts as integer) as er_posts,
    cast(features.engagements_per_post as double) as engagements_per_post,
    cast(features.engagement_trend as double) as engagement_trend,
    cast(features.followers as bigint) as followers,
    cast({{ safe_divide('features.engagements_per_post', 'features.followers') }} as double) as engagement_rate,
    cast(features.window_comments as integer) as window_comments,
    cast(features.comment_authenticity_score as double) as comment_authenticity_score,
    cast(features.sentiment_score as double) as sentiment_score,
    cast(coalesce(past_contracts.past_contracts, 0) as integer) as past_contracts,
    cast(past_contracts.past_cpe_usd as double) as past_cpe_usd,
    cast(past_contracts.past_fee_usd as double) as past_fee_usd
from record_features as features
left join past_contracts
    on features.platform = past_contracts.platform
    and features.creator_id = past_contracts.creator_id
    and features.cutoff_date = past_contracts.cutoff_date
