{#- A post's engagements (docs/metrics.md): likes + comments + shares + saves where reported;
    NULL when neither likes nor comments are known (nothing is known to add up), otherwise an
    unreported metric counts 0. int_post_metrics_daily applies it to a snapshot and to the
    snapshot before it (the baseline of engagements_gained). -#}
{% macro post_engagements(likes, comments, shares, saves) -%}
    case
        when {{ likes }} is null and {{ comments }} is null then null
        else coalesce({{ likes }}, 0) + coalesce({{ comments }}, 0) + coalesce({{ shares }}, 0) + coalesce({{ saves }}, 0)
    end
{%- endmacro %}
