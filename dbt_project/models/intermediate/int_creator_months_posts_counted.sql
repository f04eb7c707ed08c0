{{ config(
    on_schema_change='fail',
    **incremental_by_date('month')
) }}
-- Per month x platform x creator: the posts published that month and first seen by D.
-- Incremental on month: a daily build recounts the months of the posts (re)seen in
-- [from_date, D]. Posts are few (one row each), so a touched month is cheap to recount whole.

select
    cast(date_trunc('month', published_at) as date) as month,
    platform,
    creator_id,
    count(*) as posts_published
from {{ ref('int_posts_unioned') }}
where published_at <= {{ end_of_day(run_date()) }}
    and first_seen_date <= {{ run_date() }}
    {% if is_incremental() %}
    and {{ in_months_touched('published_at', ref('int_posts_unioned')) }}
    {% endif %}
group by all
