-- A metric Instagram does not have for that media is absent in the API -> NULL here, never 0.
{% call platform_staging('instagram', 'post_insights', ['post_id']) %}
        post_id,
        views,
        reach,
        saved as saves,
        shares,
        total_interactions
{% endcall %}
