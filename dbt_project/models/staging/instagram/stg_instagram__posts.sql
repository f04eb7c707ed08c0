-- shares, saves and views come from post insights (authorised creators only): NULL here.
{% call platform_staging('instagram', 'posts', ['post_id']) %}
        post_id,
        caption,
        {{ empty_text_list() }} as listed_hashtags,
        {{ utc_timestamp('published_at') }} as published_at,
        media_type,
        media_product_type,
        permalink,
        like_count as likes,
        comments_count as comments,
        cast(null as bigint) as shares,
        cast(null as bigint) as saves,
        cast(null as bigint) as views
{% endcall %}
