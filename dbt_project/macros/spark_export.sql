{#- The Spark build's hand-over to the gate and publish (docs/architecture.md "Running on
    Spark"): every model Spark built as a table (views too with var spark_export_views) is
    written as Parquet to <export_dir>/<model>/, which pipeline/transform.py loads into
    warehouse.duckdb, so the gate and publish read the same tables whatever engine built them.
    `dbt run-operation export_models --args '{export_dir: ...}'` after the build. -#}
{% macro export_models(export_dir) -%}
    {%- if execute -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.package_name == project_name
        and node.config.enabled and node.language == 'sql'
        and (node.config.materialized != 'view' or var('spark_export_views', false)) -%}
        {%- set relation = adapter.get_relation(node.database, node.schema, node.alias) -%}
        {%- if relation is not none -%}
            {%- do log('export ' ~ node.alias, info=true) -%}
            {%- do run_query("insert overwrite directory '" ~ export_dir ~ "/" ~ node.alias
                ~ "' using parquet select * from " ~ relation) -%}
        {%- endif -%}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
