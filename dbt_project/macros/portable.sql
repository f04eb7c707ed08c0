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

{#- DuckDB: the day files no compacted month covers plus the month files (landing_records);
    exports are read per landing date by latest_export_snapshot. -#}
{% macro default__landing_relation(source_name, entity) -%}
    {%- if source_name == 'exports' -%}
    {{ source(source_name, entity) }}
    {%- else -%}
    {{ landing_records(source_name, entity) }}
    {%- endif -%}
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
    QUALIFY; Spark, which has no QUALIFY: each row as a struct beside its row_number, the
    struct's fields selected). The expressions name the columns select_sql returns; select_sql
    may name the CTEs of the query it is part of. -#}
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
select kept._kol_row.* from (
    select
        struct(*) as _kol_row,
        row_number() over (partition by {{ partition_by }} order by {{ order_by }}) as _kol_rank
    from (
{{ select_sql }}
    ) as ranked
) as kept
where kept._kol_rank = 1
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

{#- Aggregates. `order_by` is a comma-separated list of expressions, compared in that order. -#}
{#- The value of `expr` on the row where `order_by` is greatest, NULL included (a NULL on that
    row is the answer, not skipped). -#}
{% macro latest_value(expr, order_by) -%}
    {{ return(adapter.dispatch('latest_value')(expr, order_by)) }}
{%- endmacro %}

{% macro default__latest_value(expr, order_by) -%}
    arg_max_null({{ expr }}, ({{ order_by }}))
{%- endmacro %}

{% macro spark__latest_value(expr, order_by) -%}
    max_by({{ expr }}, struct({{ order_by }}))
{%- endmacro %}

{#- The value of `expr` on the row where `order_by` is greatest among the rows where `expr` is
    not NULL. -#}
{% macro latest_known_value(expr, order_by) -%}
    {{ return(adapter.dispatch('latest_known_value')(expr, order_by)) }}
{%- endmacro %}

{% macro default__latest_known_value(expr, order_by) -%}
    arg_max({{ expr }}, {{ order_by }})
{%- endmacro %}

{% macro spark__latest_known_value(expr, order_by) -%}
    max_by({{ expr }}, case when {{ expr }} is not null then struct({{ order_by }}) end)
{%- endmacro %}

{#- The distinct values of a text expression, sorted, joined by `separator`. -#}
{% macro sorted_distinct_join(expr, separator) -%}
    {{ return(adapter.dispatch('sorted_distinct_join')(expr, separator)) }}
{%- endmacro %}

{% macro default__sorted_distinct_join(expr, separator) -%}
    string_agg(distinct {{ expr }}, '{{ separator }}' order by {{ expr }})
{%- endmacro %}

{% macro spark__sorted_distinct_join(expr, separator) -%}
    nullif(array_join(array_sort(collect_set({{ expr }})), '{{ separator }}'), '')
{%- endmacro %}

{#- Dates. -#}
{#- One row per calendar date from `start` to `stop` (both dates, inclusive): a select-list
    expression. -#}
{% macro date_series(start, stop) -%}
    {{ return(adapter.dispatch('date_series')(start, stop)) }}
{%- endmacro %}

{% macro default__date_series(start, stop) -%}
    cast(unnest(generate_series({{ start }}, {{ stop }}, interval 1 day)) as date)
{%- endmacro %}

{% macro spark__date_series(start, stop) -%}
    explode(sequence({{ start }}, {{ stop }}, interval 1 day))
{%- endmacro %}

{#- Whole days from date `start` to date `stop` (a BIGINT). -#}
{% macro days_between(start, stop) -%}
    {{ return(adapter.dispatch('days_between')(start, stop)) }}
{%- endmacro %}

{% macro default__days_between(start, stop) -%}
    ({{ stop }} - {{ start }})
{%- endmacro %}

{% macro spark__days_between(start, stop) -%}
    cast(datediff({{ stop }}, {{ start }}) as bigint)
{%- endmacro %}

{#- An interval of `days` days (an integer expression). -#}
{% macro days_interval(days) -%}
    {{ return(adapter.dispatch('days_interval')(days)) }}
{%- endmacro %}

{% macro default__days_interval(days) -%}
    to_days(cast({{ days }} as integer))
{%- endmacro %}

{% macro spark__days_interval(days) -%}
    make_dt_interval(cast({{ days }} as integer))
{%- endmacro %}

{#- Incremental models' config, `config(**incremental_by_date('landing_date'))` (each model's
    choice is documented in dbt_project/README.md). By date: DuckDB deletes the dates a run
    writes and inserts them again (delete+insert); Spark, which has no delete+insert without
    Delta or Iceberg, stores the table partitioned by the date and overwrites the partitions
    the run writes (insert_overwrite, dynamic partition overwrite). The two are the same
    because a run writes each of its dates whole. -#}
{% macro incremental_by_date(column) -%}
    {{ return(adapter.dispatch('incremental_by_date')(column)) }}
{%- endmacro %}

{% macro default__incremental_by_date(column) -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'delete+insert', 'unique_key': column}) }}
{%- endmacro %}

{% macro spark__incremental_by_date(column) -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'insert_overwrite', 'partition_by': [column]}) }}
{%- endmacro %}

{#- Rebuilt whole each run from its inputs and its own previous rows (a model that keeps what
    it computed before and recomputes only what changed, every row rewritten: a few thousand):
    DuckDB runs it as an incremental model whose strategy replaces every stored row
    (get_incremental_replace_sql), so `is_incremental()` says when its previous rows can be
    read; a full refresh, a unit test and Spark build it as a table from its inputs alone. -#}
{% macro incremental_replace() -%}
    {{ return(adapter.dispatch('incremental_replace')()) }}
{%- endmacro %}

{% macro default__incremental_replace() -%}
    {{ return({'materialized': 'incremental', 'incremental_strategy': 'replace'}) }}
{%- endmacro %}

{% macro spark__incremental_replace() -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}

{#- incremental_replace's strategy: every stored row deleted, the run's rows inserted (dbt runs
    both in one transaction). -#}
{% macro get_incremental_replace_sql(arg_dict) -%}
    {%- set columns = get_quoted_csv(arg_dict['dest_columns'] | map(attribute='name')) -%}
    delete from {{ arg_dict['target_relation'] }};
    insert into {{ arg_dict['target_relation'] }} ({{ columns }})
    select {{ columns }} from {{ arg_dict['temp_relation'] }}
{%- endmacro %}

{#- By ids (one row per key, its latest version): DuckDB deletes and re-inserts the keys a run
    touches (delete+insert); on Spark, whose tables can only overwrite partitions, a key's row
    moves between partitions from day to day, so the model is rebuilt whole as a table (a full
    refresh gives the same rows). -#}
{% macro incremental_by_key(columns, key_time=none) -%}
    {{ return(adapter.dispatch('incremental_by_key')(columns, key_time)) }}
{%- endmacro %}

{#- `key_time`: a not-NULL column whose value a key's new version never has later than its
    stored one (the time a comment was made, the same in every version; the date a post was
    first seen, the least of the two): the delete then looks for the keys among the stored rows
    at or after the earliest `key_time` a run writes, a range the engine prunes stored blocks
    with, instead of among every stored row (duckdb__get_delete_insert_merge_sql). -#}
{% macro default__incremental_by_key(columns, key_time) -%}
    {%- set config = {'materialized': 'incremental', 'incremental_strategy': 'delete+insert', 'unique_key': columns} -%}
    {%- if key_time -%}
        {%- do config.update({'unique_key_time': key_time}) -%}
    {%- endif -%}
    {{ return(config) }}
{%- endmacro %}

{% macro spark__incremental_by_key(columns, key_time) -%}
    {{ return({'materialized': 'table'}) }}
{%- endmacro %}

{#- dbt's delete+insert, the keys looked for among the stored rows at or after the earliest
    `unique_key_time` of the new rows (incremental_by_key's key_time): a daily run rewrites the
    comments and posts of recent posts, and testing every stored key grew with the history.
    The earliest is looked up first and written into the delete as a literal (`key_time_bound`):
    DuckDB prunes stored blocks by a constant, not by a scalar subquery (agency, a year, the
    comments' key look-up: 0.6 s with the literal, 2.0-2.8 s with the subquery, 1.7 s with no
    bound at all). -#}
{% macro duckdb__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, incremental_predicates) -%}
    {%- set key_time = config.get('unique_key_time') -%}
    {%- set predicates = [] + (incremental_predicates or []) -%}
    {%- if key_time -%}
        {%- do predicates.append('DBT_INTERNAL_DEST.' ~ key_time ~ ' >= ' ~ key_time_bound(key_time, source)) -%}
    {%- endif -%}
    {{ return(default__get_delete_insert_merge_sql(target, source, unique_key, dest_columns, predicates or none)) }}
{%- endmacro %}

{#- The least `key_time` of `source`, as a typed literal; a SQL model's new rows are a table by
    the time its merge is written (dbt-duckdb's incremental materialization), a Python model's
    not yet: the subquery then. An empty `source` deletes nothing (NULL bound). -#}
{% macro key_time_bound(key_time, source) -%}
    {%- set subquery = '(select min(' ~ key_time ~ ') from ' ~ source ~ ')' -%}
    {%- if not execute or model.get('language', 'sql') != 'sql' -%}
        {{ return(subquery) }}
    {%- endif -%}
    {%- set found = run_query(
        'select cast(min(' ~ key_time ~ ') as varchar), typeof(min(' ~ key_time ~ ')) from ' ~ source
    ) -%}
    {%- set least, type_name = found.rows[0][0], found.rows[0][1] -%}
    {%- if least is none -%}
        {{ return('cast(null as ' ~ type_name ~ ')') }}
    {%- endif -%}
    {{ return("cast('" ~ least | replace("'", "''") ~ "' as " ~ type_name ~ ")") }}
{%- endmacro %}

{#- Model contracts name DuckDB's types (varchar, double[], ...); Spark checks a contract with
    its own names for the same types (string, array<double>). dbt's default, each data_type
    translated. -#}
{% macro spark_type(data_type) -%}
    {%- set name = data_type.strip().lower() -%}
    {%- if name.endswith('[]') -%}
        {{ return('array<' ~ spark_type(name[:-2]) ~ '>') }}
    {%- elif name in ('varchar', 'text') -%}
        {{ return('string') }}
    {%- else -%}
        {{ return(name) }}
    {%- endif -%}
{%- endmacro %}

{% macro spark__get_empty_schema_sql(columns) -%}
    {%- set translated = {} -%}
    {%- for name, column in columns.items() -%}
        {%- set copy = column.copy() if column is mapping else column -%}
        {%- if copy.get('data_type') -%}
            {%- do copy.update({'data_type': spark_type(copy['data_type'])}) -%}
        {%- endif -%}
        {%- do translated.update({name: copy}) -%}
    {%- endfor -%}
    {{ return(default__get_empty_schema_sql(translated)) }}
{%- endmacro %}

{#- More lists. -#}
{#- Elements in a list: NULL for a NULL list on DuckDB, -1 on Spark; compare it with > 0 or = 0
    only where the list is never NULL, or where both answers mean "no". -#}
{% macro list_length(list_expr) -%}
    {{ return(adapter.dispatch('list_length')(list_expr)) }}
{%- endmacro %}

{% macro default__list_length(list_expr) -%}
    len({{ list_expr }})
{%- endmacro %}

{% macro spark__list_length(list_expr) -%}
    size({{ list_expr }})
{%- endmacro %}

{% macro list_has(list_expr, value) -%}
    {{ return(adapter.dispatch('list_has')(list_expr, value)) }}
{%- endmacro %}

{% macro default__list_has(list_expr, value) -%}
    list_contains({{ list_expr }}, {{ value }})
{%- endmacro %}

{% macro spark__list_has(list_expr, value) -%}
    array_contains({{ list_expr }}, {{ value }})
{%- endmacro %}

{#- One row per element of a list: a select-list expression. -#}
{% macro list_elements(list_expr) -%}
    {{ return(adapter.dispatch('list_elements')(list_expr)) }}
{%- endmacro %}

{% macro default__list_elements(list_expr) -%}
    unnest({{ list_expr }})
{%- endmacro %}

{% macro spark__list_elements(list_expr) -%}
    explode({{ list_expr }})
{%- endmacro %}

{#- A struct of the named columns (fields compared in order, as max() does). -#}
{% macro struct_of(columns) -%}
    {{ return(adapter.dispatch('struct_of')(columns)) }}
{%- endmacro %}

{% macro default__struct_of(columns) -%}
    struct_pack({% for c in columns %}{{ c }} := {{ c }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{% macro spark__struct_of(columns) -%}
    named_struct({% for c in columns %}'{{ c }}', {{ c }}{% if not loop.last %}, {% endif %}{% endfor %})
{%- endmacro %}

{#- A CTE the planner must not materialize (DuckDB's hint; Spark inlines CTEs anyway). -#}
{% macro not_materialized() -%}
    {{ return(adapter.dispatch('not_materialized')()) }}
{%- endmacro %}

{% macro default__not_materialized() -%}
    not materialized
{%- endmacro %}

{% macro spark__not_materialized() -%}
{%- endmacro %}

{#- The column names of a built relation but `excluded`, in its model's order (DuckDB's
    `columns(* exclude (...))`, which Spark lacks). Empty before the relation exists (parsing). -#}
{% macro columns_except(relation, excluded) -%}
    {%- set names = [] -%}
    {%- if execute -%}
        {%- for name in model_column_names(relation) if name not in excluded -%}
            {%- do names.append(name) -%}
        {%- endfor -%}
    {%- endif -%}
    {{ return(names) }}
{%- endmacro %}

{#- The column names of a built model's relation in the order its SQL selects them. Spark
    stores a partitioned table's partition columns last: a model with partition_by
    (incremental_by_date) is read in the order its YAML declares, which must name each of its
    columns in the order of its SQL (tests/dbt/test_partitioned_models_yaml.py). -#}
{% macro model_column_names(relation) -%}
    {%- set names = adapter.get_columns_in_relation(relation) | map(attribute='name') | list -%}
    {%- set node = graph.nodes.values() | selectattr('resource_type', 'equalto', 'model')
        | selectattr('alias', 'equalto', relation.identifier) | first -%}
    {%- if node and node.config.get('partition_by') -%}
        {%- set declared = node.columns.keys() | select('in', names) | list -%}
        {%- if declared | length != names | length -%}
            {{ exceptions.raise_compiler_error(
                node.name ~ " is partitioned: its YAML must name each of its columns, in the "
                ~ "order of its SQL; it leaves out " ~ names | reject('in', declared) | list) }}
        {%- endif -%}
        {{ return(declared) }}
    {%- endif -%}
    {{ return(names) }}
{%- endmacro %}

{#- Every match of a regular expression in `text_expr` replaced by `replacement` (plain text).
    `pattern` is written once, as regex_extract_all's. Java reads \s as RE2's [\t\n\f\r ] plus
    the vertical tab; \pL, \pN and \w mean the same in both. -#}
{% macro regex_replace_all(text_expr, pattern, replacement) -%}
    {{ return(adapter.dispatch('regex_replace_all')(text_expr, pattern, replacement)) }}
{%- endmacro %}

{% macro default__regex_replace_all(text_expr, pattern, replacement) -%}
    regexp_replace({{ text_expr }}, '{{ pattern }}', '{{ replacement }}', 'g')
{%- endmacro %}

{% macro spark__regex_replace_all(text_expr, pattern, replacement) -%}
    regexp_replace({{ text_expr }}, '{{ pattern | replace("\\", "\\\\") }}', '{{ replacement }}')
{%- endmacro %}

{#- `select <columns> <from_clause>` keeping the rows where `condition` (which may hold window
    functions over the from_clause's rows) is true: DuckDB's QUALIFY. Spark, which has no
    QUALIFY, evaluates the condition beside each row (as a struct) and filters on it. -#}
{% macro qualify_select(columns, from_clause, condition) -%}
    {{ return(adapter.dispatch('qualify_select')(columns, from_clause, condition)) }}
{%- endmacro %}

{% macro default__qualify_select(columns, from_clause, condition) -%}
    select {{ columns }}
    {{ from_clause }}
    qualify {{ condition }}
{%- endmacro %}

{% macro spark__qualify_select(columns, from_clause, condition) -%}
    select qualified._kol_row.* from (
        select struct({{ columns }}) as _kol_row, ({{ condition }}) as _kol_keep
        {{ from_clause }}
    ) as qualified
    where qualified._kol_keep
{%- endmacro %}

{#- An inner ASOF join: each left row with the one row of `right` (a relation or a
    parenthesised query, named `alias`) that matches `on` and is the latest by `right_time`
    such that `left_time` `comparison` (>= or >) right_time; `also`: further conditions on
    `right`'s rows that only bound right_time from below. Spark, which has no ASOF join, gives
    each right row the time of the next one (partition_by: the right columns `on` equates)
    and joins the row whose span holds left_time. -#}
{% macro asof_join(right, alias, on, left_time, comparison, right_time, partition_by, also='') -%}
    {{ return(adapter.dispatch('asof_join')(right, alias, on, left_time, comparison, right_time, partition_by, also)) }}
{%- endmacro %}

{% macro default__asof_join(right, alias, on, left_time, comparison, right_time, partition_by, also) -%}
    asof inner join {{ right }} as {{ alias }}
        on {{ on }}
        and {{ left_time }} {{ comparison }} {{ alias }}.{{ right_time }}
        {%- if also %}
        and {{ also }}
        {%- endif %}
{%- endmacro %}

{% macro spark__asof_join(right, alias, on, left_time, comparison, right_time, partition_by, also) -%}
    inner join (
        select
            asof_rows.*,
            lead(asof_rows.{{ right_time }}) over (
                partition by {{ partition_by }} order by asof_rows.{{ right_time }}
            ) as _kol_next_time
        from {{ right }} as asof_rows
    ) as {{ alias }}
        on {{ on }}
        and {{ left_time }} {{ comparison }} {{ alias }}.{{ right_time }}
        and ({{ alias }}._kol_next_time is null
            or not ({{ left_time }} {{ comparison }} {{ alias }}._kol_next_time))
        {%- if also %}
        and {{ also }}
        {%- endif %}
{%- endmacro %}

{#- `select_sql`'s columns but `keep` as rows: one (`name`, `value`) per column and row, NULL
    values left out (DuckDB's UNPIVOT of columns(* exclude keep); Spark names the columns,
    `values`). -#}
{% macro unpivot_columns(select_sql, keep, values, name, value) -%}
    {{ return(adapter.dispatch('unpivot_columns')(select_sql, keep, values, name, value)) }}
{%- endmacro %}

{% macro default__unpivot_columns(select_sql, keep, values, name, value) -%}
    unpivot (
        {{ select_sql }}
    )
    on columns(* exclude ({{ keep | join(', ') }}))
    into name {{ name }} value {{ value }}
{%- endmacro %}

{% macro spark__unpivot_columns(select_sql, keep, values, name, value) -%}
    select * from (
        {{ select_sql }}
    ) as wide
    unpivot exclude nulls ({{ value }} for {{ name }} in ({{ values | join(', ') }}))
{%- endmacro %}

{#- A 64-bit hash of one or more columns (a comma-separated list), for grouping by key
    cheaply; equal values hash equal, distinct ones may collide (compare values after). -#}
{% macro hash64(columns) -%}
    {{ return(adapter.dispatch('hash64')(columns)) }}
{%- endmacro %}

{% macro default__hash64(columns) -%}
    hash({{ columns }})
{%- endmacro %}

{% macro spark__hash64(columns) -%}
    xxhash64({{ columns }})
{%- endmacro %}

{#- The last non-NULL value of `expr` in the window the caller's OVER clause gives (DuckDB:
    IGNORE NULLS inside the call; Spark: last_value's second argument). -#}
{% macro last_non_null(expr) -%}
    {{ return(adapter.dispatch('last_non_null')(expr)) }}
{%- endmacro %}

{% macro default__last_non_null(expr) -%}
    last_value({{ expr }} ignore nulls)
{%- endmacro %}

{% macro spark__last_non_null(expr) -%}
    last_value({{ expr }}, true)
{%- endmacro %}
