{% call platform_staging('youtube', 'posts', ['post_id']) %}
        post_id,
        concat_ws(chr(10), title, description) as caption,
        tags as listed_hashtags,
        {{ utc_timestamp('published_at') }} as published_at,
        title,
        like_count as likes,  -- NULL when the creator hides likes
        comment_count as comments,  -- NULL when comments are off
        cast(null as bigint) as shares,
        cast(null as bigint) as saves,
        view_count as views
{% endcall %}
