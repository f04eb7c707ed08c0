{#- dbt-duckdb 1.11 leaves the temporary relation of an incremental Python model behind as a
    table, <model>__dbt_tmp<timestamp>: one per model and build, each a copy of what that build
    added (a year of daily builds: ~1,100 tables, one more copy of every comment's score).
    on-run-end drops them after every invocation; one writer per DuckDB file, so no other
    build is using them. -#}
{% macro drop_leftover_temp_tables() %}
    {%- if execute and target.type == 'duckdb' -%}
        {%- set leftovers = run_query(
            "select schema_name, table_name from duckdb_tables()"
            ~ " where database_name = current_database() and not temporary"
            ~ " and contains(table_name, '__dbt_tmp')"
        ) -%}
        {%- for row in leftovers.rows -%}
            {%- do run_query('drop table if exists "' ~ row[0] ~ '"."' ~ row[1] ~ '"') -%}
        {%- endfor -%}
    {%- endif -%}
    select 1 as leftover_temp_tables_dropped
{% endmacro %}
