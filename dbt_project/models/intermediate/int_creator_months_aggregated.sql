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
    -- spam (macro comment_is_spam, duplicates judged within the month) is left out
    select
        cast(date_trunc('month', published_at) as date) as month,
        platform,
        creator_id,
        is_scored,
        compound,
        {{ comment_is_spam("cast(date_trunc('month', published_at) as date), platform, creator_id") }} as is_spam
    from {{ ref('int_comment_features') }}
    {% if is_incremental() %}
    where cast(date_trunc('month', published_at) as date) in ({{ months_touched }})
    {% endif %}
),

comments as (
    select
        month,
        platform,
        creator_id,
        sum(compound) as compound_sum,
        count(*) as scored_comments
    from month_comments
    where is_scored and not is_spam
    group by all
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
