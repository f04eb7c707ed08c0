{#- Data tests on a daily (incremental) build check only the rows that build (re)wrote: for the
    models named in var incremental_test_scope and every platform staging view (by landing_date),
    `<column> >= from_date`. Their older rows were
    checked by the build that wrote them, and re-checking the whole history every day would make
    a daily run cost what the history costs. A full refresh (no from_date) checks every row.
    Overrides dbt's get_where_subquery, keeping a test's own `where:` config. -#}
{% macro get_where_subquery(relation) -%}
    {%- set conditions = [] -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- do conditions.append('(' ~ where ~ ')') -%}
    {%- endif -%}
    {%- set from = build_param('from_date', 'KOL_FROM_DATE') or '' -%}
    {%- set column = var('incremental_test_scope', {}).get(relation.identifier)
        or ('landing_date' if is_platform_staging(relation.identifier) else none) -%}
    {%- if from and column -%}
        {%- do conditions.append(column ~ " >= cast('" ~ from ~ "' as date)") -%}
    {%- endif -%}
    {%- if conditions -%}
        {%- do return('(select * from ' ~ relation ~ ' where ' ~ conditions | join(' and ') ~ ') dbt_subquery') -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}

{#- Whether a model is a platform's staging view: stg_<platform>__<entity>, platform in var platforms. -#}
{% macro is_platform_staging(identifier) -%}
    {%- set parts = identifier.split('__') -%}
    {%- do return(parts | length == 2 and parts[0].startswith('stg_') and parts[0][4:] in var('platforms')) -%}
{%- endmacro %}
