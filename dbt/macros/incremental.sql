{#-
    Incremental builds. Every incremental model stamps the rows it (re)builds with `built_at`,
    the start of the dbt run; a model downstream rebuilds the keys whose upstream rows carry a
    stamp newer than its own newest one, so a model that failed in an earlier run catches up.
    Models reading raw events keep `last_loaded_at`, the newest load time of the events behind
    a row, and rebuild the keys with events loaded after it. Reference data (catalogue, roster,
    ticket history) and model changes trigger a full refresh (pipelines/transform.py).
-#}

{# The time this dbt run started: the `built_at` stamp of every row it writes. #}
{% macro build_stamp() -%}
    cast('{{ run_started_at.strftime("%Y-%m-%d %H:%M:%S.%f") }}' as timestamp)
{%- endmacro %}

{# The newest value of a time column in this model's existing table (an old date if empty). #}
{% macro watermark(column) -%}
    (select coalesce(max({{ column }}), cast('1900-01-01' as timestamp)) from {{ this }})
{%- endmacro %}
