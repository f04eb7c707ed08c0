{#- Keep one row per key and snapshot date: a date's file may hold the same record twice (a
    page repeated by the API), so the latest extracted_at wins. landing_date is part of the
    partition so a `landing_date >= from_date` filter downstream is pushed through to the
    Parquet scan (partition pruning). A window, not a GROUP BY: the groups are nearly all of
    one row, and DuckDB's hash aggregate over them (text included) is ~3x slower and spills;
    the int_ models collapse the versions of a key with arg_max_null instead. -#}
{% macro dedupe_latest(select_sql, keys) -%}
    {{ keep_first(select_sql, keys | join(', ') ~ ', snapshot_date, landing_date', 'extracted_at desc, run_id desc') }}
{%- endmacro %}

{#- The columns every API record carries (ingestion/records.py COMMON) plus the hive path. -#}
{% macro common_columns() -%}
        cast(platform as {{ dbt.type_string() }}) as platform,
        creator_id,
        account_id,
        snapshot_date,
        cast(dt as date) as landing_date,
        run_id,
        extracted_at
{%- endmacro %}

{#- A platform's staging view: the source's records within landing_scope, the common columns,
    then the model's own renames (the call block's body), one row per key and snapshot date.
    A staging model is only its renames:
    {% call platform_staging('x', 'posts', ['post_id']) %} text as caption, ... {% endcall %} -#}
{% macro platform_staging(platform, entity, keys) -%}
{%- set renamed_sql -%}
with source as (
    select * from {{ landing_relation(platform, entity) }}
    where {{ landing_scope('cast(dt as date)') }}
),

renamed as (
    select
        {{ common_columns() }},
        {{ caller() | trim }}
    from source
)

select * from renamed
{%- endset %}
{{ dedupe_latest(renamed_sql, keys) }}
{%- endmacro %}

{#- Comments have the same shape on every platform: one macro, five thin staging views.
    No dedupe_latest here: comments are the volume (each is re-pulled every day for a week),
    a window over every landed comment row is what made a full refresh slow (~15 of 25 min at
    365 days, `small` bench), and the only reader, int_comments_unioned, keeps the latest
    version of each comment (keys first, then a join). Grain: one row per comment per
    extraction run (a run never lands a key twice: ingestion/parsing.py quarantines it). -#}
{% macro stg_comments(platform) -%}
with source as (
    select * from {{ landing_relation(platform, 'comments') }}
    where {{ landing_scope('cast(dt as date)') }}
),

renamed as (
    select
        {{ common_columns() }},
        comment_id,
        post_id,
        text as comment_text,
        {{ utc_timestamp('published_at') }} as published_at,
        like_count,
        reply_count,
        author_hash
    from source
)

select * from renamed
{%- endmacro %}

{#- Hashtags of a post, lower-case without '#': listed ones plus those written in the text. -#}
{% macro hashtags_from(text_expr, list_expr=none) -%}
    {{ list_union(
        (('coalesce(' ~ list_map(list_expr, 't', 'lower(' ~ strip_leading('t', '#') ~ ')') ~ ', ' ~ empty_text_list() ~ ')')
            if list_expr is not none else empty_text_list()),
        'coalesce(' ~ regex_extract_all('lower(' ~ text_expr ~ ')', '#(\\w+)', 1) ~ ', ' ~ empty_text_list() ~ ')'
    ) }}
{%- endmacro %}

{#- Export snapshots (full files per landing date): the latest landed date up to D counts.
    That date is found from the file names (a directory listing, landing_scope applied) when
    the view is built, and the view reads only that date's folder: every export is landed
    whole each day, so a view over every date's copy made each model and test that reads it
    scan the history to keep one day (365 copies per export at a year; bench/README.md).
    Like every view, it is rebuilt by each `dbt build`. Spark: the latest date is a subquery
    over the folder's partition column (the filter prunes the other dates' files). -#}
{% macro latest_export_snapshot(entity) -%}
    {{ return(adapter.dispatch('latest_export_snapshot')(entity)) }}
{%- endmacro %}

{% macro spark__latest_export_snapshot(entity) -%}
    {%- set relation = landing_relation('exports', entity) -%}
    select *, cast(dt as date) as landing_date
    from {{ relation }}
    where cast(dt as date) = (
        select max(cast(dt as date)) from {{ relation }}
        where {{ landing_scope('cast(dt as date)') }}
    )
{%- endmacro %}

{% macro default__latest_export_snapshot(entity) -%}
    {%- set relation = source('exports', entity) | string -%}
    {%- set every_date = '/**/*.parquet' -%}
    {%- if not execute -%}
    select *, cast(dt as date) as landing_date from {{ relation }}
    {%- elif every_date not in relation or not relation.startswith("read_parquet('") -%}
        {{ exceptions.raise_compiler_error(
            "latest_export_snapshot: source exports." ~ entity ~ " must be read_parquet('<folder>"
            ~ every_date ~ "', ...) to pick its latest landing date; got: " ~ relation) }}
    {%- else -%}
    {%- set latest = latest_landed_date(relation.split("'")[1]) -%}
    select *, cast(dt as date) as landing_date
    {%- if latest %}
    from {{ relation.replace(every_date, '/dt=' ~ latest ~ '/*.parquet') }}
    {%- else %}
    from {{ relation }}
    where false
    {%- endif %}
    {%- endif %}
{%- endmacro %}

{#- The latest landing date (YYYY-MM-DD) among the files a glob matches, within landing_scope;
    none when there is none. -#}
{% macro latest_landed_date(file_glob) -%}
    {%- set query -%}
        select max(landing_date) from (
            select try_cast(regexp_extract(file, '/dt=([0-9]{4}-[0-9]{2}-[0-9]{2})/[^/]*$', 1) as date)
                as landing_date
            from glob('{{ file_glob }}')
        )
        where {{ landing_scope('landing_date') }}
    {%- endset -%}
    {%- set latest = run_query(query).columns[0].values()[0] -%}
    {{ return(latest | string if latest is not none else none) }}
{%- endmacro %}
