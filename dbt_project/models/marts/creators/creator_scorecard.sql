{{ config(tags=['published']) }}
-- Creator account metrics as of the run date D: the D slice of int_account_metrics_as_of.
select
    cast(as_of_date as date) as as_of_date,
    cast(creator_id as varchar) as creator_id,
    cast(platform as varchar) as platform,
    cast(account_id as varchar) as account_id,
    cast(followers as bigint) as followers,
    cast(followers_snapshot_date as date) as followers_snapshot_date,
    cast(tier as varchar) as tier,
    cast(er_posts as integer) as er_posts,
    cast(engagement_rate as double) as engagement_rate,
    cast(view_engagement_rate as double) as view_engagement_rate,
    cast(er_percentile_in_tier as double) as er_percentile_in_tier,
    cast(er_percentile_peers as integer) as er_percentile_peers,
    cast(follower_growth_30d as double) as follower_growth_30d,
    cast(follower_growth_7d as double) as follower_growth_7d,
    cast(engagement_trend as double) as engagement_trend,
    cast(trend_weeks as integer) as trend_weeks,
    cast(audience_quality_score as double) as audience_quality_score,
    cast(follower_spike_score as double) as follower_spike_score,
    cast(engagement_consistency_score as double) as engagement_consistency_score,
    cast(comment_authenticity_score as double) as comment_authenticity_score,
    cast(follow_ratio_score as double) as follow_ratio_score,
    cast(sentiment_score as double) as sentiment_score,
    cast(positive_comment_share as double) as positive_comment_share,
    cast(negative_comment_share as double) as negative_comment_share,
    cast(scored_comments as integer) as scored_comments,
    cast(unscored_comments as integer) as unscored_comments,
    cast(comments_30d as integer) as comments_30d,
    cast(spam_comments as integer) as spam_comments,
    cast(positive_comments as integer) as positive_comments,
    cast(neutral_comments as integer) as neutral_comments,
    cast(negative_comments as integer) as negative_comments,
    -- the account's last refresh: its latest snapshot at or before D (older when the quota plan
    -- deferred it or its extraction failed; its metrics are those of that day's data)
    cast(followers_snapshot_date as date) as data_as_of
from {{ ref('int_account_metrics_as_of') }}
where as_of_date = {{ run_date() }}
