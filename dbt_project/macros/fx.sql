{#- USD per unit of a currency: USD is 1 by definition, others come from int_fx_rates_filled. -#}
{% macro usd_per_unit(currency_expr, fx_rate_expr) -%}
    case when upper({{ currency_expr }}) = 'USD' then 1.0 else {{ fx_rate_expr }} end
{%- endmacro %}
