{{ config(
    on_schema_change='fail',
    **incremental_by_date('month')
) }}
-- Per month x platform x creator: whether the creator published (a post published that month,
-- first seen by D) and the scored sentiment of comments published that month on the creator's
-- posts (sum and count of VADER compound). platform_comparison reads these instead of every
-- post and comment of the history. The two halves are kept apart upstream
-- (int_creator_months_posts_counted, int_creator_months_sentiment_summed), each recomputing
-- only the months its own records touched; this joins them for the months either touched.

-- the months either half touched: read by both CTEs below on an incremental build
with touched as (
    {{ months_touched(ref('int_posts_unioned')) }}
    union
    {{ months_touched(ref('int_comment_features')) }}
),

posts as (
    select month, platform, creator_id, posts_published
    from {{ ref('int_creator_months_posts_counted') }}
    {% if is_incremental() %}
    where month in (select month from touched)
    {% endif %}
),

comments as (
    select month, platform, creator_id, compound_sum, scored_comments
    from {{ ref('int_creator_months_sentiment_summed') }}
    {% if is_incremental() %}
    where month in (select month from touched)
    {% endif %}
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
