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

{#- Hashtags of a post, lower-case without '#': listed ones plus those written in the text
    (int_posts_unioned, on each post's latest version). -#}
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
    point a compaction was killed at. While parsing, the source itself.
    The lists of every platform source are resolved once per `dbt build`, by the on-run-start
    hook resolve_landing_files: the manifest (about 1 MB a year, 2-3 MB at agency) is read once,
    not once per view (0.03-0.07 s per view at the small world's year of history). A
    view compiled without the hook (`dbt compile`, `dbt docs generate`) resolves its own
    source. -#}
{% macro landing_records(platform, entity) -%}
    {%- set relation = source(platform, entity) | string -%}
    {%- if not execute or not relation.startswith("read_parquet('") -%}
    {{ relation }}  {#- parsing, or a unit test's given rows #}
    {%- else -%}
    {%- set rows = resolved_landing_files(platform, entity) -%}
    {%- if rows is none -%}
    {%- set rows = run_query(landing_files_query([landing_source(platform, entity, relation)])).rows -%}
    {%- endif -%}
    {%- set day_files = [] -%}
    {%- set month_files = [] -%}
    {%- for row in rows -%}
        {%- if row[2] == 'day' -%}{%- do day_files.append(row[3]) -%}
        {%- elif row[2] == 'month' -%}{%- do month_files.append(row[3]) -%}{%- endif -%}
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

{#- A platform source as the folders landing_files_query reads: its day glob (the part of its
    read_parquet external_location) and its landing zone. -#}
{% macro landing_source(platform, entity, relation) -%}
    {%- set day_glob = relation.split("'")[1] -%}
    {{ return({'platform': platform, 'entity': entity, 'day_glob': day_glob,
               'landing': day_glob.split('/records/')[0]}) }}
{%- endmacro %}

{#- (platform, entity, kind, file) of the files `sources` read (landing_records): kind 'day'
    for a day file no month covers, within landing_scope; 'month' for a month file; and one
    'source' row per source, so a source with no file still says it was resolved. Each
    landing zone's compaction manifest is read once. -#}
{% macro landing_files_query(sources) -%}
    {%- set manifests = [] -%}
    {%- for landing in sources | map(attribute='landing') | unique -%}
        {%- set manifest = landing ~ '/compacted/manifest.json' -%}
        {%- if run_query("select count(*) from glob('" ~ manifest ~ "')").columns[0].values()[0] > 0 -%}
            {%- do manifests.append((landing, manifest)) -%}
        {%- endif -%}
    {%- endfor -%}
    with sources as (
        {%- for s in sources %}
        select '{{ s.platform }}' as platform, '{{ s.entity }}' as entity, '{{ s.landing }}' as landing
        {%- if not loop.last %} union all{% endif %}
        {%- endfor %}
    ),

    covered as (
        {%- for landing, manifest in manifests %}
        select '{{ landing }}' as landing, r.entity, r.platform, r.file, unnest(r.days) as day
        from (
            select unnest(records) as r
            from read_json('{{ manifest }}', maximum_object_size=67108864, columns={
                records: 'STRUCT(entity VARCHAR, platform VARCHAR, file VARCHAR, days VARCHAR[])[]'})
        )
        {%- if not loop.last %} union all{% endif %}
        {%- else %}
        select cast(null as varchar) as landing, cast(null as varchar) as entity,
            cast(null as varchar) as platform, cast(null as varchar) as file,
            cast(null as varchar) as day
        where false
        {%- endfor %}
    ),

    days as (
        {%- for s in sources %}
        select '{{ s.platform }}' as platform, '{{ s.entity }}' as entity, '{{ s.landing }}' as landing,
            file, regexp_extract(file, '/dt=([0-9]{4}-[0-9]{2}-[0-9]{2})/[^/]*$', 1) as day
        from glob('{{ s.day_glob }}')
        {%- if not loop.last %} union all{% endif %}
        {%- endfor %}
    )

    select platform, entity, 'day' as kind, file from days as d
    where day <> ''
        and {{ landing_scope('cast(day as date)') }}
        and not exists (
            select 1 from covered as c
            where c.landing = d.landing and c.entity = d.entity and c.platform = d.platform
                and c.day = d.day
        )
    union all
    select distinct s.platform, s.entity, 'month' as kind, s.landing || '/' || c.file
    from covered as c
    inner join sources as s on c.landing = s.landing and c.entity = s.entity and c.platform = s.platform
    union all
    select platform, entity, 'source' as kind, '' as file from sources
    order by 1, 2, 3, 4
{%- endmacro %}

{#- on-run-start (DuckDB): every platform source's files (landing_files_query), as table
    _kol_landing_files keyed by the invocation; on-run-end drops it (forget_landing_files). -#}
{% macro resolve_landing_files() -%}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set sources = [] -%}
        {%- for node in graph.sources.values() if node.source_name != 'exports' -%}
            {%- set relation = node.config.external_location or '' -%}
            {%- if relation.startswith("read_parquet('") -%}
                {%- do sources.append(landing_source(node.source_name, node.name, relation)) -%}
            {%- endif -%}
        {%- endfor -%}
        {%- if sources -%}
            {%- do run_query(
                "create or replace table " ~ target.schema ~ "._kol_landing_files as select '"
                ~ invocation_id ~ "' as invocation_id, * from (" ~ landing_files_query(sources) ~ ")") -%}
        {%- endif -%}
    {%- endif -%}
    select 1 as landing_files_resolved
{%- endmacro %}

{% macro forget_landing_files() -%}
    {%- if execute and target.type == 'duckdb' -%}
        {%- do run_query("drop table if exists " ~ target.schema ~ "._kol_landing_files") -%}
    {%- endif -%}
    select 1 as landing_files_forgotten
{%- endmacro %}

{#- The rows landing_files_query gave `platform`.`entity` in this invocation's on-run-start, or
    none when it did not run (a compile without hooks, an older build's table). -#}
{% macro resolved_landing_files(platform, entity) -%}
    {%- set exists = run_query(
        "select count(*) from duckdb_tables() where database_name = current_database()"
        ~ " and schema_name = '" ~ target.schema ~ "' and table_name = '_kol_landing_files'"
    ).columns[0].values()[0] -%}
    {%- if exists == 0 -%}{{ return(none) }}{%- endif -%}
    {%- set rows = run_query(
        "select platform, entity, kind, file from " ~ target.schema ~ "._kol_landing_files"
        ~ " where invocation_id = '" ~ invocation_id ~ "' and platform = '" ~ platform
        ~ "' and entity = '" ~ entity ~ "' order by kind, file"
    ).rows -%}
    {{ return(rows if rows | length > 0 else none) }}
{%- endmacro %}
