{% call platform_staging('youtube', 'accounts', ['account_id']) %}
        custom_url as handle,
        title as display_name,
        -- subscriberCount is NULL (not 0) when the channel hides it
        case when coalesce(hidden_subscriber_count, false) then null else subscriber_count end as followers,
        cast(null as bigint) as following,
        video_count as posts_count,
        view_count as total_views,
        country,
        uploads_playlist_id,
        -- snippet.publishedAt of the channel: when it was created
        {{ utc_timestamp('published_at') }} as account_created_at,
        coalesce(hidden_subscriber_count, false) as followers_hidden
{% endcall %}
