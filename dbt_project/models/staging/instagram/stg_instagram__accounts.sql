{% call platform_staging('instagram', 'accounts', ['account_id']) %}
        username as handle,
        name as display_name,
        followers_count as followers,
        follows_count as following,
        media_count as posts_count,
        false as followers_hidden
{% endcall %}
