-- Each post's latest snapshot as of D (snapshots after D are excluded).
select
    metrics.*,
    posts.hashtags,
    posts.first_seen_date
from {{ ref('int_post_metrics_daily') }} as metrics
inner join {{ ref('int_posts_unioned') }} as posts
    on metrics.platform = posts.platform and metrics.post_id = posts.post_id
where metrics.snapshot_date <= {{ run_date() }}
    and metrics.published_at <= {{ end_of_day(run_date()) }}
qualify row_number() over (
    partition by metrics.platform, metrics.post_id
    order by metrics.snapshot_date desc, metrics.extracted_at desc
) = 1
