{% call platform_staging('tiktok', 'accounts', ['account_id']) %}
        username as handle,
        display_name,
        bio_description as bio,
        follower_count as followers,
        following_count as following,
        video_count as posts_count,
        likes_count as total_likes,
        is_verified,
        false as followers_hidden
{% endcall %}
