{#-
    The DuckDB-specific SQL of the project lives here, behind macros, so that moving to a
    distributed engine (Spark, Trino) means rewriting these few lines, not the models.
-#}

{# A percentile of a column, as an aggregate (continuous interpolation). #}
{% macro percentile(column, fraction) -%}
    quantile_cont({{ column }}, {{ fraction }})
{%- endmacro %}

{# Several percentiles of a column from one sort, as an aggregate returning an array (Spark's
   percentile and Trino's approx_percentile take an array of fractions too). #}
{% macro percentiles(column, fractions) -%}
    quantile_cont({{ column }}, [{{ fractions | join(', ') }}])
{%- endmacro %}

{# The element at a 1-based position of an array. #}
{% macro array_item(array, position) -%}
    {{ array }}[{{ position }}]
{%- endmacro %}

{# A naive local timestamp in an IANA time zone, converted to naive UTC. #}
{% macro local_to_utc(local_timestamp, timezone) -%}
    cast(timezone('UTC', timezone({{ timezone }}, {{ local_timestamp }})) as timestamp)
{%- endmacro %}

{# One row per day between two dates (inclusive), as column `day`. #}
{% macro day_spine(start_date, end_date) -%}
    select cast(generate_series as date) as day
    from generate_series(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day)
{%- endmacro %}

{# Each day from one date to another (inclusive), one row per day of the row it is used on:
   a select-list expression (named by the caller) that multiplies the row. #}
{% macro each_day(start_date, end_date) -%}
    cast(unnest(generate_series(
        cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day
    )) as date)
{%- endmacro %}

{# Day of week, Monday = 0. #}
{% macro weekday_monday_zero(day) -%}
    (isodow({{ day }}) - 1)
{%- endmacro %}

{# The timestamp of a time of day on a date. #}
{% macro day_at(day, time_of_day) -%}
    (cast({{ day }} as date) + cast({{ time_of_day }} as time))
{%- endmacro %}

{# The value of `column` on the row where `ordering` is largest (rows with a null ordering are
   skipped). Spark and Trino call this max_by. #}
{% macro max_by(column, ordering) -%}
    arg_max({{ column }}, {{ ordering }})
{%- endmacro %}

{# The value of `column` on the row where `ordering` is smallest (Spark and Trino: min_by). #}
{% macro min_by(column, ordering) -%}
    arg_min({{ column }}, {{ ordering }})
{%- endmacro %}

{# A number that orders events by time, then (for events of the same microsecond) by a hash of
   the id, so ties are broken the same way on every run. #}
{% macro event_order_key(occurred_at, event_id) -%}
    (epoch_us({{ occurred_at }}) * 1000 + cast(hash({{ event_id }}) % 1000 as bigint))
{%- endmacro %}

{# Written after `name as` of a CTE that the query reads more than once: keep it inline. DuckDB
   would otherwise compute such a CTE whole, once, before the filters of the parts that read it
   can reach its scan. On an engine that inlines CTEs by itself, this macro becomes empty. #}
{% macro inlined() -%}
    not materialized
{%- endmacro %}
