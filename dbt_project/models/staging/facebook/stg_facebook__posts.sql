{% call platform_staging('facebook', 'posts', ['post_id']) %}
        post_id,
        message as caption,
        {{ empty_text_list() }} as listed_hashtags,
        {{ utc_timestamp('published_at') }} as published_at,
        permalink_url as permalink,
        reactions_count as likes,  -- Facebook reactions are `likes`
        comments_count as comments,
        shares_count as shares,
        cast(null as bigint) as saves,
        cast(null as bigint) as views  -- Facebook reports no views
{% endcall %}
