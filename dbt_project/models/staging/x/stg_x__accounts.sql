{% call platform_staging('x', 'accounts', ['account_id']) %}
        username as handle,
        name as display_name,
        description as bio,
        followers_count as followers,
        following_count as following,
        tweet_count as posts_count,
        listed_count,
        verified as is_verified,
        {{ utc_timestamp('created_at') }} as account_created_at,
        false as followers_hidden
{% endcall %}
