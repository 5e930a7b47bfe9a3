{#-
    The scoped data tests: an incremental build tests only the rows it loaded or rebuilt. Their
    `where` configs read the build scope as `__build_scope__`, which this override of dbt's
    `get_where_subquery` replaces with the source `ops.build_scope` (models/_written_by_python.yml),
    because a test's `where` cannot call `source()` itself.
-#}
{% macro default__get_where_subquery(relation) -%}
    {%- set where = config.get('where', '') -%}
    {%- if where -%}
        {%- set where = where | replace('__build_scope__', source('ops', 'build_scope') | string) -%}
        {%- set filtered -%}
            (select * from {{ relation }} where {{ where }}) dbt_subquery
        {%- endset -%}
        {%- do return(filtered) -%}
    {%- else -%}
        {%- do return(relation) -%}
    {%- endif -%}
{%- endmacro %}
