{% call platform_staging('x', 'posts', ['post_id']) %}
        post_id,
        text as caption,
        hashtags as listed_hashtags,
        {{ utc_timestamp('published_at') }} as published_at,
        conversation_id,
        retweet_count,
        quote_count,
        like_count as likes,
        reply_count as comments,  -- X replies are `comments`
        -- X retweets + quotes are `shares` (NULL only when neither is reported)
        case
            when retweet_count is null and quote_count is null then null
            else coalesce(retweet_count, 0) + coalesce(quote_count, 0)
        end as shares,
        bookmark_count as saves,  -- X bookmarks are `saves`
        impression_count as views
{% endcall %}
