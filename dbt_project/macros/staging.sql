{#- Keep one row per key and snapshot date: a date's file may hold the same record twice (a
    page repeated by the API), so the latest extracted_at wins. landing_date is part of the
    partition so a `landing_date >= from_date` filter downstream is pushed through to the
    Parquet scan (partition pruning). A window, not a GROUP BY: the groups are nearly all of
    one row, and DuckDB's hash aggregate over them (text included) is ~3x slower and spills;
    the int_ models collapse the versions of a key with arg_max_null instead. -#}
{% macro dedupe_latest(keys) -%}
    qualify row_number() over (
        partition by {{ keys | join(', ') }}, snapshot_date, landing_date
        order by extracted_at desc, run_id desc
    ) = 1
{%- endmacro %}

{#- The columns every API record carries (ingestion/records.py COMMON) plus the hive path. -#}
{% macro common_columns() -%}
        cast(platform as varchar) as platform,
        creator_id,
        account_id,
        snapshot_date,
        cast(dt as date) as landing_date,
        run_id,
        extracted_at
{%- endmacro %}

{#- Comments have the same shape on every platform: one macro, five thin staging views.
    No dedupe_latest here: comments are the volume (each is re-pulled every day for a week),
    a window over every landed comment row is what made a full refresh slow (~15 of 25 min at
    365 days, `small` bench), and the only reader, int_comments_unioned, keeps the latest
    version of each comment (keys first, then a join). Grain: one row per comment per
    extraction run (a run never lands a key twice: ingestion/parsing.py quarantines it). -#}
{% macro stg_comments(platform) -%}
with source as (
    select * from {{ source(platform, 'comments') }}
    where {{ landing_scope('cast(dt as date)') }}
),

renamed as (
    select
        {{ common_columns() }},
        comment_id,
        post_id,
        text as comment_text,
        timezone('UTC', published_at) as published_at,
        like_count,
        reply_count,
        author_hash
    from source
)

select * from renamed
{%- endmacro %}

{#- Hashtags of a post, lower-case without '#': listed ones plus those written in the text. -#}
{% macro hashtags_from(text_expr, list_expr=none) -%}
    list_distinct(list_concat(
        {%- if list_expr is not none %}
        coalesce(list_transform({{ list_expr }}, lambda t: lower(ltrim(t, '#'))), []),
        {%- else %}
        [],
        {%- endif %}
        coalesce(regexp_extract_all(lower({{ text_expr }}), '#(\w+)', 1), [])
    ))
{%- endmacro %}

{#- Export snapshots (full files per landing date): the latest landed date up to D counts. -#}
{% macro latest_export_snapshot(entity) -%}
    select *, cast(dt as date) as landing_date
    from {{ source('exports', entity) }}
    where {{ landing_scope('cast(dt as date)') }}
    qualify cast(dt as date) = max(cast(dt as date)) over ()
{%- endmacro %}
