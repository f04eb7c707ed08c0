{#- A division by zero (or by NULL) is NULL everywhere (docs/metrics.md). -#}
{% macro safe_divide(numerator, denominator) -%}
    (cast({{ numerator }} as double) / nullif(cast({{ denominator }} as double), 0))
{%- endmacro %}
