{#- SQL that DuckDB and Apache Spark write differently (docs/architecture.md "Running on Spark").
    Models call these macros, or dbt's cross-database macros (dbt.type_string, dbt.dateadd,
    ...), and never name their engine: adapter.dispatch picks duckdb__ on the DuckDB target,
    spark__ on the spark target. Spark runs with spark.sql.session.timeZone = UTC, so its
    TIMESTAMP is DuckDB's naive UTC timestamp. -#}

{#- A landing source as a relation. DuckDB: the source's read_parquet(glob, hive_partitioning,
    union_by_name) (its external_location). Spark: the same folder read as a Parquet table
    (partition discovery gives dt; spark.sql.parquet.mergeSchema does what union_by_name
    does); a platform source's folder is platform=<p>, so `platform` is added as DuckDB's hive
    partitioning adds it. -#}
{% macro landing_relation(source_name, entity) -%}
    {{ return(adapter.dispatch('landing_relation')(source_name, entity)) }}
{%- endmacro %}

{% macro default__landing_relation(source_name, entity) -%}
    {{ source(source_name, entity) }}
{%- endmacro %}

{% macro spark__landing_relation(source_name, entity) -%}
    {%- set relation = source(source_name, entity) -%}
    {%- if not execute -%}
    {{ relation }}
    {%- elif source_name == 'exports' -%}
    parquet.`{{ landing_folder(source_name, entity) }}`
    {%- else -%}
    (select *, '{{ source_name }}' as platform from parquet.`{{ landing_folder(source_name, entity) }}`)
    {%- endif -%}
{%- endmacro %}

{#- The landing folder of a source: the part of its external_location read_parquet('<folder>/**/*.parquet', ...)
    before the glob. -#}
{% macro landing_folder(source_name, entity) -%}
    {%- set every_date = '/**/*.parquet' -%}
    {%- set node = graph.sources.values() | selectattr('source_name', 'equalto', source_name)
        | selectattr('name', 'equalto', entity) | first -%}
    {%- set location = node.config.external_location if node else '' -%}
    {%- if every_date not in location or not location.startswith("read_parquet('") -%}
        {{ exceptions.raise_compiler_error(
            "source " ~ source_name ~ "." ~ entity ~ " must be read_parquet('<folder>"
            ~ every_date ~ "', ...); got: " ~ location) }}
    {%- endif -%}
    {{ return(location.split("'")[1].split(every_date)[0]) }}
{%- endmacro %}

{#- `select_sql` keeping the first row of each `partition_by` group in `order_by` order (DuckDB:
    QUALIFY; Spark, which has no QUALIFY: a row_number column filtered, then left out). The
    expressions name the columns select_sql returns. -#}
{% macro keep_first(select_sql, partition_by, order_by) -%}
    {{ return(adapter.dispatch('keep_first')(select_sql, partition_by, order_by)) }}
{%- endmacro %}

{% macro default__keep_first(select_sql, partition_by, order_by) -%}
select * from (
{{ select_sql }}
) as kept
qualify row_number() over (partition by {{ partition_by }} order by {{ order_by }}) = 1
{%- endmacro %}

{% macro spark__keep_first(select_sql, partition_by, order_by) -%}
    {%- set columns = get_columns_in_query(select_sql) if execute else ['*'] -%}
select {% for c in columns %}`{{ c }}`{% if not loop.last %}, {% endif %}{% endfor %} from (
    select *, row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as _kol_row
    from (
{{ select_sql }}
    ) as ranked
) as kept
where _kol_row = 1
{%- endmacro %}

{#- A timestamp with time zone as the naive UTC timestamp the models compare. -#}
{% macro utc_timestamp(expr) -%}
    {{ return(adapter.dispatch('utc_timestamp')(expr)) }}
{%- endmacro %}

{% macro default__utc_timestamp(expr) -%}
    timezone('UTC', {{ expr }})
{%- endmacro %}

{% macro spark__utc_timestamp(expr) -%}
    cast({{ expr }} as timestamp)
{%- endmacro %}

{#- Lists. `var` names the element in `body` / `condition` (a lambda). -#}
{% macro list_map(list_expr, var, body) -%}
    {{ return(adapter.dispatch('list_map')(list_expr, var, body)) }}
{%- endmacro %}

{% macro default__list_map(list_expr, var, body) -%}
    list_transform({{ list_expr }}, lambda {{ var }}: {{ body }})
{%- endmacro %}

{% macro spark__list_map(list_expr, var, body) -%}
    transform({{ list_expr }}, {{ var }} -> {{ body }})
{%- endmacro %}

{% macro list_where(list_expr, var, condition) -%}
    {{ return(adapter.dispatch('list_where')(list_expr, var, condition)) }}
{%- endmacro %}

{% macro default__list_where(list_expr, var, condition) -%}
    list_filter({{ list_expr }}, lambda {{ var }}: {{ condition }})
{%- endmacro %}

{% macro spark__list_where(list_expr, var, condition) -%}
    filter({{ list_expr }}, {{ var }} -> {{ condition }})
{%- endmacro %}

{#- An empty list of text. -#}
{% macro empty_text_list() -%}
    {{ return(adapter.dispatch('empty_text_list')()) }}
{%- endmacro %}

{% macro default__empty_text_list() -%}
    []
{%- endmacro %}

{% macro spark__empty_text_list() -%}
    cast(array() as array<string>)
{%- endmacro %}

{#- The distinct non-NULL elements of two lists, in no particular order. -#}
{% macro list_union(left, right) -%}
    {{ return(adapter.dispatch('list_union')(left, right)) }}
{%- endmacro %}

{% macro default__list_union(left, right) -%}
    list_distinct(list_concat({{ left }}, {{ right }}))
{%- endmacro %}

{% macro spark__list_union(left, right) -%}
    filter(array_distinct(concat({{ left }}, {{ right }})), x -> x is not null)
{%- endmacro %}

{#- Every match of a regular expression's group `group` in `text_expr`. `pattern` is the
    regular expression itself (RE2 / Java syntax), written once: Spark's string literals
    read a backslash as an escape, DuckDB's do not. -#}
{% macro regex_extract_all(text_expr, pattern, group) -%}
    {{ return(adapter.dispatch('regex_extract_all')(text_expr, pattern, group)) }}
{%- endmacro %}

{% macro default__regex_extract_all(text_expr, pattern, group) -%}
    regexp_extract_all({{ text_expr }}, '{{ pattern }}', {{ group }})
{%- endmacro %}

{% macro spark__regex_extract_all(text_expr, pattern, group) -%}
    regexp_extract_all({{ text_expr }}, '{{ pattern | replace("\\", "\\\\") }}', {{ group }})
{%- endmacro %}

{#- Leading `chars` removed (one character class, e.g. '#'). -#}
{% macro strip_leading(expr, chars) -%}
    {{ return(adapter.dispatch('strip_leading')(expr, chars)) }}
{%- endmacro %}

{% macro default__strip_leading(expr, chars) -%}
    ltrim({{ expr }}, '{{ chars }}')
{%- endmacro %}

{% macro spark__strip_leading(expr, chars) -%}
    trim(leading '{{ chars }}' from {{ expr }})
{%- endmacro %}
