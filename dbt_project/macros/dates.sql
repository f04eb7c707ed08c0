{#- The run date D and the landing-date scope every model reads (docs/architecture.md: "as of end of D"). -#}

{#- A build parameter: `--vars <name>` when given (unit tests, dbt run by hand), else the
    environment variable pipeline/transform.py sets for each build (KOL_RUN_DATE,
    KOL_FROM_DATE, KOL_EXCLUDED_DATES), read only while executing. dbt re-parses the whole
    project when --vars change and re-parses a file whose parse read a changed env_var; a value
    read only at execution changes neither, so a new run date keeps the partial parse. -#}
{% macro build_param(name, env_name) -%}
    {%- set value = var(name, none) -%}
    {%- if (value is none or value == '' or value == []) and execute -%}
        {%- set value = env_var(env_name, '') -%}
    {%- endif -%}
    {{ return(value) }}
{%- endmacro %}

{#- Without a run date, D is yesterday (UTC), like `kol run` without --date. -#}
{% macro run_date_value() -%}
    {%- set value = build_param('run_date', 'KOL_RUN_DATE') -%}
    {%- if value is none or value == '' -%}
        {%- set value = (modules.datetime.datetime.utcnow() - modules.datetime.timedelta(days=1)).strftime('%Y-%m-%d') -%}
    {%- endif -%}
    {{ return(value | string) }}
{%- endmacro %}

{% macro run_date() -%}
    cast('{{ run_date_value() }}' as date)
{%- endmacro %}

{% macro excluded_dates_list() -%}
    {%- set excluded = build_param('excluded_dates', 'KOL_EXCLUDED_DATES') or [] -%}
    {%- if excluded is string -%}{%- set excluded = excluded.split(',') | reject('equalto', '') | list -%}{%- endif -%}
    {{ return(excluded) }}
{%- endmacro %}

{#- Landing dates a model may build on: up to D, never a rejected date. -#}
{% macro landing_scope(column) -%}
    {{ column }} <= {{ run_date() }}
    {%- set excluded = excluded_dates_list() %}
    {%- if excluded | length > 0 %}
    and {{ column }} not in ({% for d in excluded %}cast('{{ d }}' as date){% if not loop.last %}, {% endif %}{% endfor %})
    {%- endif %}
{%- endmacro %}

{#- The first landing date an incremental run (re)builds: the day after the last successful
    build, so a day whose build failed or was never built (land-only days, a failed gate's
    rebuild) is picked up by the next run instead of being skipped. pipeline/transform.py passes
    it (KOL_FROM_DATE, never after D); without it only D itself is built. -#}
{% macro from_date_value() -%}
    {%- set value = build_param('from_date', 'KOL_FROM_DATE') -%}
    {%- if value is none or value == '' or value > run_date_value() -%}
        {%- set value = run_date_value() -%}
    {%- endif -%}
    {{ return(value | string) }}
{%- endmacro %}

{% macro from_date() -%}
    cast('{{ from_date_value() }}' as date)
{%- endmacro %}

{#- Incremental facts read only the landing dates [from_date, D] on a daily run; everything up
    to D on a full refresh. -#}
{% macro incremental_landing_scope(column) -%}
    {%- if is_incremental() -%}
    {{ column }} >= {{ from_date() }} and {{ landing_scope(column) }}
    {%- else -%}
    {{ landing_scope(column) }}
    {%- endif -%}
{%- endmacro %}

{#- End of a date as a naive UTC timestamp (midnight of the next day). -#}
{% macro end_of_day(date_expr) -%}
    (cast({{ date_expr }} as timestamp) + interval 1 day)
{%- endmacro %}

{#- "The last N days" = published in (end of D - N days, end of D]. -#}
{% macro in_last_days(ts_column, as_of, days) -%}
    ({{ ts_column }} > {{ end_of_day(as_of) }} - {{ days_interval(days) }}
     and {{ ts_column }} <= {{ end_of_day(as_of) }})
{%- endmacro %}

{#- The months (first days) of the records of `relation` (re)seen in [from_date, D]: the months
    an incremental month model recomputes. `relation` has published_at and last_seen_date. -#}
{% macro months_touched(relation) -%}
    select distinct cast(date_trunc('month', published_at) as date) as month
    from {{ relation }}
    where last_seen_date >= {{ from_date() }}
{%- endmacro %}

{#- `ts_column` falls in a month of months_touched(relation), written with the months as
    literals, looked up when the build runs: `ts_column >= first month and < the month after the
    last` is a range on the column itself, which the engine prunes stored blocks with (an
    incremental table's old blocks hold old records only), where a month expression tested
    against a subquery reads every stored row. No month touched: false. -#}
{% macro in_months_touched(ts_column, relation) -%}
    {%- set months = [] -%}
    {%- if execute -%}
        {%- for m in run_query(months_touched(relation)).columns[0].values() | reject('none') | sort -%}
            {%- do months.append(m.strftime('%Y-%m-%d')) -%}
        {%- endfor -%}
    {%- endif -%}
    {%- if months | length == 0 -%}
    false
    {%- else -%}
    {%- set last = modules.datetime.date.fromisoformat(months[-1]) -%}
    {%- set after_last = (last.replace(day=28) + modules.datetime.timedelta(days=4)).replace(day=1) -%}
    ({{ ts_column }} >= cast('{{ months[0] }} 00:00:00' as timestamp)
     and {{ ts_column }} < cast('{{ after_last.strftime('%Y-%m-%d') }} 00:00:00' as timestamp)
     and cast(date_trunc('month', {{ ts_column }}) as date) in (
        {%- for m in months %}cast('{{ m }}' as date){% if not loop.last %}, {% endif %}{% endfor -%}
     ))
    {%- endif -%}
{%- endmacro %}

{#- The earliest first sighting (int_posts_unioned.first_seen_date) of the posts a query
    selects (platform, post_id), looked up while the model compiles: a literal the engine
    prunes stored blocks with, where a subquery's value would not. None when it selects no
    post. A model calling it names int_posts_unioned in a depends_on comment. -#}
{% macro earliest_first_sighting(posts_query) -%}
    {%- if not execute -%}
        {{ return(none) }}
    {%- endif -%}
    {{ return(run_query(
        'select min(posts.first_seen_date) from ' ~ ref('int_posts_unioned') ~ ' as posts '
        ~ 'semi join (' ~ posts_query ~ ') as chosen '
        ~ 'on posts.platform = chosen.platform and posts.post_id = chosen.post_id'
    ).columns[0].values()[0]) }}
{%- endmacro %}
