{{ config(**incremental_replace()) }}
-- depends_on: {{ ref('int_posts_unioned') }}
-- The comments of every post attributed to a campaign as of D (int_campaign_posts_attributed),
-- with what fct_campaign_creator_performance judges them by, and one marker row per attributed
-- post (comment_id NULL: the post's comments are here, even when it has none).
-- A daily build keeps the stored comments of the posts still attributed and adds the comments
-- seen since from_date of attributed posts and every comment of the posts attributed since the
-- last build: looked up only among the comments seen on or after the earliest first sighting of
-- those posts (a literal that prunes stored blocks: a post's comments are listed in the runs
-- that pull the post, never before its first sighting), not among every comment ever landed.
{%- set columns = ['author_hash', 'normalised_text', 'is_emoji_only', 'is_generic', 'is_scored', 'compound'] %}
{%- set attributed_posts -%}
    select distinct platform, post_id
    from {{ ref('int_campaign_posts_attributed') }}
{%- endset %}

with attributed_posts as (
    {{ attributed_posts }}
),

{% if is_incremental() %}
{%- set new_posts -%}
    select attributed.platform, attributed.post_id
    from ({{ attributed_posts }}) as attributed
    where not exists (
        select 1 from {{ this }} as stored
        where stored.comment_id is null
            and stored.platform = attributed.platform
            and stored.post_id = attributed.post_id
    )
{%- endset %}
{%- set new_from = earliest_first_sighting(new_posts) %}
new_posts as (
    {{ new_posts }}
),

-- comments seen since from_date of attributed posts, and every comment of the new posts
landed as (
    select comments.platform, comments.post_id, comments.comment_id, {{ columns | join(', ') }}
    from {{ ref('int_comment_features') }} as comments
    semi join attributed_posts
        on comments.platform = attributed_posts.platform and comments.post_id = attributed_posts.post_id
    where {{ incremental_landing_scope('comments.last_seen_date') }}
    {%- if new_from %}
    union all
    select comments.platform, comments.post_id, comments.comment_id, {{ columns | join(', ') }}
    from {{ ref('int_comment_features') }} as comments
    semi join new_posts
        on comments.platform = new_posts.platform and comments.post_id = new_posts.post_id
    where comments.last_seen_date >= cast('{{ new_from }}' as date)
        and comments.last_seen_date < {{ from_date() }}
    {%- endif %}
),

comments as (
    select * from landed
    union all
    select stored.platform, stored.post_id, stored.comment_id, {% for c in columns %}stored.{{ c }}{{ ', ' if not loop.last }}{% endfor %}
    from {{ this }} as stored
    semi join attributed_posts
        on stored.platform = attributed_posts.platform and stored.post_id = attributed_posts.post_id
    anti join landed
        on stored.platform = landed.platform and stored.comment_id = landed.comment_id
    where stored.comment_id is not null
),
{% else %}
comments as (
    select comments.platform, comments.post_id, comments.comment_id, {{ columns | join(', ') }}
    from {{ ref('int_comment_features') }} as comments
    inner join attributed_posts
        on comments.platform = attributed_posts.platform and comments.post_id = attributed_posts.post_id
    -- a semi-join on post_id alone first, so the engine reads the other columns only of the
    -- rows it keeps
    where comments.post_id in (select post_id from attributed_posts)
),
{% endif %}

unioned as (
    select
        platform, post_id, comment_id, {{ columns | join(', ') }}
    from comments
    union all
    select
        platform,
        post_id,
        null as comment_id,
        {%- for c in columns %}
        null as {{ c }}{{ ',' if not loop.last }}
        {%- endfor %}
    from attributed_posts
)

select
    cast(platform as {{ dbt.type_string() }}) as platform,
    cast(post_id as {{ dbt.type_string() }}) as post_id,
    cast(comment_id as {{ dbt.type_string() }}) as comment_id,
    cast(author_hash as {{ dbt.type_string() }}) as author_hash,
    cast(normalised_text as {{ dbt.type_string() }}) as normalised_text,
    cast(is_emoji_only as boolean) as is_emoji_only,
    cast(is_generic as boolean) as is_generic,
    cast(is_scored as boolean) as is_scored,
    cast(compound as double) as compound
from unioned
