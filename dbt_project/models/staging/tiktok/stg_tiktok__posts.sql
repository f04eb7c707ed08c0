{% call platform_staging('tiktok', 'posts', ['post_id']) %}
        post_id,
        username as handle,
        video_description as caption,
        hashtag_names as listed_hashtags,
        {{ utc_timestamp('published_at') }} as published_at,
        region_code,
        like_count as likes,
        comment_count as comments,
        share_count as shares,
        cast(null as bigint) as saves,
        view_count as views
{% endcall %}
