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

{#- What a platform staging view reads: every landed day folder of the source that no month
    file covers (an explicit file list, not a glob over every day) plus the month files that
    cover the rest, as the compaction manifest says (landing/compacted/manifest.json,
    ingestion/compaction.py): a day is read once, from its folder or from its month, whatever
    point a compaction was killed at. The list is made when the view is built (each `dbt build`);
    while parsing, the source itself. The manifest grows by about 2-3 MB a year; read_json
    accepts it up to 64 MB. -#}
{% macro landing_records(platform, entity) -%}
    {%- set relation = source(platform, entity) | string -%}
    {%- if not execute or not relation.startswith("read_parquet('") -%}
    {{ relation }}  {#- parsing, or a unit test's given rows #}
    {%- else -%}
    {%- set day_glob = relation.split("'")[1] -%}
    {%- set landing = day_glob.split('/records/')[0] -%}
    {%- set manifest = landing ~ '/compacted/manifest.json' -%}
    {%- set found = run_query("select count(*) from glob('" ~ manifest ~ "')").columns[0].values()[0] -%}
    {%- set query -%}
        with covered as (
            {%- if found > 0 %}
            select r.file as file, unnest(r.days) as day
            from (
                select unnest(records) as r
                from read_json('{{ manifest }}', maximum_object_size=67108864, columns={
                    records: 'STRUCT(entity VARCHAR, platform VARCHAR, file VARCHAR, days VARCHAR[])[]'})
            )
            where r.entity = '{{ entity }}' and r.platform = '{{ platform }}'
            {%- else %}
            select cast(null as varchar) as file, cast(null as varchar) as day where false
            {%- endif %}
        ),

        days as (
            select file, regexp_extract(file, '/dt=([0-9]{4}-[0-9]{2}-[0-9]{2})/[^/]*$', 1) as day
            from glob('{{ day_glob }}')
        )

        select 'day' as kind, file from days
        where day <> ''
            and day not in (select day from covered)
            and {{ landing_scope('cast(day as date)') }}
        union all
        select distinct 'month' as kind, '{{ landing }}/' || file from covered
        order by 1, 2
    {%- endset -%}
    {%- set day_files = [] -%}
    {%- set month_files = [] -%}
    {%- for row in run_query(query) -%}
        {%- do (day_files if row[0] == 'day' else month_files).append(row[1]) -%}
    {%- endfor -%}
    {%- if not day_files and not month_files -%}
    {{ relation }}
    {%- else -%}
    (
        {%- if day_files %}
        select * from read_parquet([{% for f in day_files %}'{{ f }}'{{ ', ' if not loop.last }}{% endfor %}], hive_partitioning=true, union_by_name=true)
        {%- endif %}
        {%- if day_files and month_files %}
        union all by name
        {%- endif %}
        {%- if month_files %}
        select * from read_parquet([{% for f in month_files %}'{{ f }}'{{ ', ' if not loop.last }}{% endfor %}], hive_partitioning=true, union_by_name=true)
        {%- endif %}
    ) as landed
    {%- endif -%}
    {%- endif -%}
{%- endmacro %}
