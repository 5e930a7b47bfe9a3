{#-
    On an engine that reads the raw tables from files (Spark), register them before the build:
    each source table of the project, and `ops.build_scope`, as an external Parquet table at
    `<var raw_location>/<schema>/<table>`, which `unticket build --engine spark` writes (pipelines/spark.py).
    Re-registered on every run, so a new column or partition is seen; dropping an external
    table never deletes its files. On DuckDB the raw tables are the loader's own: nothing to do.
-#}
{% macro register_raw_tables() -%}
    {{ return(adapter.dispatch('register_raw_tables', 'unticket')()) }}
{%- endmacro %}

{% macro default__register_raw_tables() -%}
{%- endmacro %}

{% macro spark__register_raw_tables() -%}
    {%- if not execute -%}{{ return('') }}{%- endif -%}
    {%- set location = var('raw_location') | replace('\\', '\\\\') | replace("'", "\\'") -%}
    {#- `scores` are written into the marts after the build: not a source of it -#}
    {%- set sources = graph.sources.values()
        | rejectattr('source_name', 'equalto', 'scores') | list -%}
    {%- for schema in sources | map(attribute='schema') | unique -%}
        {%- do run_query('create database if not exists ' ~ schema) -%}
    {%- endfor -%}
    {%- for node in sources -%}
        {%- set relation = node.schema ~ '.' ~ node.identifier -%}
        {%- do run_query('drop table if exists ' ~ relation) -%}
        {%- do run_query(
            'create table ' ~ relation ~ " using parquet location '"
            ~ location ~ '/' ~ node.schema ~ '/' ~ node.identifier ~ "'"
        ) -%}
    {%- endfor -%}
{%- endmacro %}
