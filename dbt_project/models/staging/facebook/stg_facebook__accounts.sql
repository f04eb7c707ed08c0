{% call platform_staging('facebook', 'accounts', ['account_id']) %}
        cast(null as {{ dbt.type_string() }}) as handle,
        name as display_name,
        -- followers_count, or fan_count when the page does not report followers_count
        coalesce(followers_count, fan_count) as followers,
        fan_count,
        cast(null as bigint) as following,
        cast(null as bigint) as posts_count,
        false as followers_hidden
{% endcall %}
