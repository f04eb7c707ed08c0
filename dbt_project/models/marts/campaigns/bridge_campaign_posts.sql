{{ config(tags=['published']) }}
-- Every (campaign_id, post_id) pair; a post attributed to two campaigns appears twice.
select distinct on (campaign_id, platform, post_id)
    cast(campaign_id as varchar) as campaign_id,
    cast(post_id as varchar) as post_id,
    cast(creator_id as varchar) as creator_id,
    cast(platform as varchar) as platform,
    cast(attributed_by as varchar) as attributed_by
from {{ ref('int_campaign_posts_attributed') }}
order by campaign_id, platform, post_id, attributed_by desc
