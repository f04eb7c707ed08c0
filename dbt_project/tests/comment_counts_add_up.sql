-- Every comment of an account's last 30 days is counted exactly once in creator_scorecard:
-- positive + neutral + negative (the scored ones) + unscored + spam = comments_30d.
select creator_id, platform, comments_30d, scored_comments, positive_comments, neutral_comments,
       negative_comments, unscored_comments, spam_comments
from {{ ref('creator_scorecard') }}
where positive_comments + neutral_comments + negative_comments != scored_comments
    or scored_comments + unscored_comments + spam_comments != comments_30d
