-- Which posts belong to which campaign row (campaign x creator x platform):
-- the explicitly listed post_ids, else the creator's posts on that platform published in the
-- campaign window [start_date, end_date] (UTC dates) carrying the campaign hashtag.
-- Only posts published up to end of D count.
with campaign_creators as (
    select * from {{ ref('stg_exports__campaign_creators') }}
),

campaigns as (
    select * from {{ ref('stg_exports__campaigns') }}
),

posts as (
    select * from {{ ref('int_posts_unioned') }}
    where published_at <= {{ end_of_day(run_date()) }}
        and first_seen_date <= {{ run_date() }}
),

-- the posts of the campaigns' creators, for the hashtag rule: a semi-join on creator_id alone,
-- so the engine reads the other columns (hashtags, a list) only of the rows it keeps
creators_posts as (
    select * from posts
    where creator_id in (select creator_id from campaign_creators)
),

listed as (
    select campaign_id, creator_id, platform, {{ list_elements('post_ids') }} as post_id
    from campaign_creators
    where {{ list_length('post_ids') }} > 0
),

by_post_id as (
    select listed.campaign_id, listed.creator_id, listed.platform, listed.post_id, 'post_id' as attributed_by
    from listed
    inner join posts on listed.platform = posts.platform and listed.post_id = posts.post_id
),

by_hashtag as (
    select
        campaign_creators.campaign_id,
        campaign_creators.creator_id,
        campaign_creators.platform,
        posts.post_id,
        'hashtag' as attributed_by
    from campaign_creators
    inner join campaigns on campaign_creators.campaign_id = campaigns.campaign_id
    inner join creators_posts as posts
        on posts.creator_id = campaign_creators.creator_id
        and posts.platform = campaign_creators.platform
        and cast(posts.published_at as date) between campaigns.start_date and campaigns.end_date
        and {{ list_has('posts.hashtags', 'campaigns.hashtag') }}
    where {{ list_length('campaign_creators.post_ids') }} = 0
        and campaigns.hashtag is not null and campaigns.hashtag <> ''
)

select * from by_post_id
union all
select * from by_hashtag
