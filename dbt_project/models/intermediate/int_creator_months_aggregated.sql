{{ config(
    on_schema_change='fail',
    **incremental_by_date('month')
) }}
-- Per month x platform x creator: whether the creator published (a post published that month,
-- first seen by D) and the scored sentiment of comments published that month on the creator's
-- posts (sum and count of VADER compound). platform_comparison reads these instead of every
-- post and comment of the history. Incremental on month: a daily build recomputes only the
-- months of the posts and comments (re)seen in [from_date, D]; earlier months keep their rows.
{%- set months_touched -%}
    select distinct cast(date_trunc('month', published_at) as date) as month
    from {{ ref('int_posts_unioned') }}
    where last_seen_date >= {{ from_date() }}
    union
    select distinct cast(date_trunc('month', published_at) as date) as month
    from {{ ref('int_comment_features') }}
    where last_seen_date >= {{ from_date() }}
{%- endset %}

with posts as (
    select
        cast(date_trunc('month', published_at) as date) as month,
        platform,
        creator_id,
        count(*) as posts_published
    from {{ ref('int_posts_unioned') }}
    where published_at <= {{ end_of_day(run_date()) }}
        and first_seen_date <= {{ run_date() }}
        {% if is_incremental() %}
        and cast(date_trunc('month', published_at) as date) in ({{ months_touched }})
        {% endif %}
    group by all
),

month_comments as (
    select
        cast(date_trunc('month', published_at) as date) as month,
        platform,
        creator_id,
        author_hash,
        normalised_text,
        is_scored,
        compound,
        is_emoji_only or is_generic as is_emoji_or_generic
    from {{ ref('int_comment_features') }}
    {% if is_incremental() %}
    where cast(date_trunc('month', published_at) as date) in ({{ months_touched }})
    {% endif %}
),

-- duplicates judged within the month (macro comment_duplicate_keys: comment_is_duplicate's rule
-- as a group-by, cheaper than its window over every comment of a month)
duplicates as (
    {{ comment_duplicate_keys('month_comments', 'month, platform, creator_id') }}
),

comments as (
    -- spam (emoji-only, generic or a duplicate: macro comment_is_spam's rule) is left out
    select
        month_comments.month,
        month_comments.platform,
        month_comments.creator_id,
        sum(month_comments.compound) as compound_sum,
        count(*) as scored_comments
    from month_comments
    left join duplicates
        on month_comments.month = duplicates.month
        and month_comments.platform = duplicates.platform
        and month_comments.creator_id = duplicates.creator_id
        and month_comments.author_hash = duplicates.author_hash
        and month_comments.normalised_text = duplicates.normalised_text
    where month_comments.is_scored
        and not month_comments.is_emoji_or_generic
        and duplicates.is_duplicate is null
    group by month_comments.month, month_comments.platform, month_comments.creator_id
)

select
    month,
    platform,
    creator_id,
    coalesce(posts.posts_published, 0) as posts_published,
    comments.compound_sum,
    coalesce(comments.scored_comments, 0) as scored_comments
from posts
full outer join comments using (month, platform, creator_id)
