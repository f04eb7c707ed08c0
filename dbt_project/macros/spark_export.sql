{#- The Spark build's hand-over to the gate and publish (docs/architecture.md "Running on
    Spark"): each of `models` (names of models and seeds) that Spark built is written as Parquet to
    <export_dir>/<model>/, which pipeline/spark_handover.py loads into warehouse.duckdb, so the
    gate and publish read the same tables whatever engine built them, and which the Python
    steps read (pipeline/python_steps.py). pipeline/transform.py runs `dbt run-operation
    export_models` after each dbt build of a Spark build, naming what it built. Columns in the
    model's order (model_column_names: a partitioned table stores its partition columns last). -#}
{% macro export_models(export_dir, models) -%}
    {%- if execute -%}
    {%- for node in graph.nodes.values()
        if node.resource_type in ('model', 'seed') and node.package_name == project_name
        and node.name in models -%}
        {%- set relation = adapter.get_relation(node.database, node.schema, node.alias) -%}
        {%- if relation is none -%}
            {{ exceptions.raise_compiler_error("export_models: " ~ node.name ~ " was not built") }}
        {%- endif -%}
        {%- set columns = model_column_names(relation) | map('replace', '`', '``') -%}
        {%- do run_query("insert overwrite directory '" ~ export_dir ~ "/" ~ node.alias
            ~ "' using parquet select `" ~ columns | join('`, `') ~ "` from " ~ relation) -%}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
