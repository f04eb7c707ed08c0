{#- The Python models' tables on Spark (docs/architecture.md "Running on Spark"): a Spark build
    runs each Python model as a pipeline step (pipeline/python_steps.py) that writes its table
    as Parquet to <python_dir>/<model>/; this makes each of `models` (names) the Spark table
    `ref()` names, over that folder, so the SQL models downstream read it as any other table.
    pipeline/transform.py runs `dbt run-operation register_python_steps` after the steps. -#}
{% macro register_python_steps(python_dir, models) -%}
    {%- if execute -%}
    {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.package_name == project_name
        and node.name in models -%}
        {%- do run_query("create schema if not exists " ~ node.schema) -%}
        {%- set existing = adapter.get_relation(node.database, node.schema, node.alias) -%}
        {%- if existing is not none -%}
            {%- do adapter.drop_relation(existing) -%}
        {%- endif -%}
        {%- set relation = api.Relation.create(
            database=node.database, schema=node.schema, identifier=node.alias, type='table') -%}
        {#- an external table: dropping it later leaves the step's folder in place -#}
        {%- do run_query("create table " ~ relation ~ " using parquet location '"
            ~ python_dir ~ "/" ~ node.alias ~ "'") -%}
    {%- endfor -%}
    {%- endif -%}
{%- endmacro %}
