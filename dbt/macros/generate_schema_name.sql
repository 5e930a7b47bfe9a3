{#- Models land in the schema their folder names (staging, intermediate, marts), not in
    "<target>_<folder>": analysts query marts.fct_interactions. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name else target.schema }}
{%- endmacro %}
