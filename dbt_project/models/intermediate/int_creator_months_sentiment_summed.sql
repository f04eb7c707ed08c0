{{ config(
    on_schema_change='fail',
    **incremental_by_date('month')
) }}
-- Per month x platform x creator: the scored sentiment of the comments published that month on
-- the creator's posts (sum and count of VADER compound), spam left out. Incremental on month:
-- a daily build recomputes the months of the comments (re)seen in [from_date, D] only. Those
-- are the months of recent posts' comments, whereas the posts a day re-sees reach back many
-- months (int_creator_months_posts_counted): each touched month is read whole, every comment
-- of it, to judge duplicates within the month.

with month_comments as (
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
    where {{ in_months_touched('published_at', ref('int_comment_features')) }}
    {% endif %}
),

-- duplicates judged within the month (macro comment_duplicate_keys: comment_is_duplicate's rule
-- as a group-by, cheaper than its window over every comment of a month)
duplicates as (
    {{ comment_duplicate_keys('month_comments', 'month, platform, creator_id') }}
)

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
