{# numerator ÷ denominator as a double, null when the denominator is 0. #}
{% macro safe_rate(numerator, denominator) -%}
    case when ({{ denominator }}) > 0 then cast(({{ numerator }}) as double) / ({{ denominator }}) end
{%- endmacro %}

{# A KPI rate of one row, as `vars.kpi_rates` in dbt_project.yml defines it (the one definition
   the report, `unticket kpis` and the dashboards read too, through pipelines/metrics.py). #}
{% macro kpi_rate(key) -%}
    {%- set kpi = var('kpi_rates')[key] -%}
    {{ safe_rate(kpi['numerator'], kpi['denominator']) }}
{%- endmacro %}
