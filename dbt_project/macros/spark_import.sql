{#- Parquet folders as tables of the target schema, under the names ref() compiles to
    (`tables`: {model name: folder}). A model's rows written elsewhere (the Python models' output
    on Spark, docs/architecture.md "Running on Spark") become readable by the SQL models
    downstream; each call replaces the table of that name. -#}
{% macro import_parquet_tables(tables) -%}
    {%- if execute -%}
    {%- do run_query("create schema if not exists " ~ target.schema) -%}
    {%- for name, folder in tables.items() -%}
        {%- set relation = api.Relation.create(schema=target.schema, identifier=name, type='table') -%}
        {%- do run_query("drop table if exists " ~ relation) -%}
        {%- do run_query("create table " ~ relation ~ " using parquet location '"
            ~ folder | replace("'", "\\'") ~ "'") -%}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
