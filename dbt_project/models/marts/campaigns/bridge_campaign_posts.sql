{{ config(tags=['published']) }}
-- Every (campaign_id, post_id) pair; a post attributed to two campaigns appears twice.
{%- set attributed %}
select
    cast(campaign_id as {{ dbt.type_string() }}) as campaign_id,
    cast(post_id as {{ dbt.type_string() }}) as post_id,
    cast(creator_id as {{ dbt.type_string() }}) as creator_id,
    cast(platform as {{ dbt.type_string() }}) as platform,
    cast(attributed_by as {{ dbt.type_string() }}) as attributed_by
from {{ ref('int_campaign_posts_attributed') }}
{%- endset %}
{{ keep_first(attributed, 'campaign_id, platform, post_id', 'attributed_by desc') }}
