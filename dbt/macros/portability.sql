{#-
    Engine-specific SQL, one dispatched macro per construct (`adapter.dispatch`): each macro
    here has a `duckdb__` implementation, and a port to another engine adds its own
    (`spark__percentile`, ...) beside it; an engine without one fails to compile, by name.

    What this file does not cover, so a port has more to do than write these macros:
    - model configs: the incremental models use `delete+insert` (dbt-spark offers
      `insert_overwrite` or `merge`), and the intermediate models live in the attached
      `build_state` database (dbt_project.yml, profiles.yml; dbt-spark ignores `+database`);
    - arithmetic: `x / 3600.0` is a double on DuckDB, an exact decimal rounded to 6 places on
      Spark (write `3600e0` there);
    - `dbt/tests/generic/unique_by_hash.sql` hashes through `value_hash` below.
    Beyond that the models are meant to be SQL both engines parse: no trailing comma before
    `from`, no `* replace` / `* exclude`, types through `dbt.type_*`, dbt's cross-database
    macros (`dbt.datediff`, `dbt.date_trunc`, ...) where they exist. None of it has run on
    Spark yet: the port is where this is proved.
-#}

{# A percentile of a column, as an aggregate (continuous interpolation). #}
{% macro percentile(column, fraction) -%}
    {{ return(adapter.dispatch('percentile', 'unticket')(column, fraction)) }}
{%- endmacro %}

{% macro duckdb__percentile(column, fraction) -%}
    quantile_cont({{ column }}, {{ fraction }})
{%- endmacro %}

{# Several percentiles of a column from one sort, as an aggregate returning an array (Spark's
   percentile and Trino's approx_percentile take an array of fractions too). #}
{% macro percentiles(column, fractions) -%}
    {{ return(adapter.dispatch('percentiles', 'unticket')(column, fractions)) }}
{%- endmacro %}

{% macro duckdb__percentiles(column, fractions) -%}
    quantile_cont({{ column }}, [{{ fractions | join(', ') }}])
{%- endmacro %}

{# The element at a 1-based position of an array. #}
{% macro array_item(array, position) -%}
    {{ return(adapter.dispatch('array_item', 'unticket')(array, position)) }}
{%- endmacro %}

{% macro duckdb__array_item(array, position) -%}
    {{ array }}[{{ position }}]
{%- endmacro %}

{# A naive local timestamp in an IANA time zone, converted to naive UTC. #}
{% macro local_to_utc(local_timestamp, timezone) -%}
    {{ return(adapter.dispatch('local_to_utc', 'unticket')(local_timestamp, timezone)) }}
{%- endmacro %}

{% macro duckdb__local_to_utc(local_timestamp, timezone) -%}
    cast(timezone('UTC', timezone({{ timezone }}, {{ local_timestamp }})) as timestamp)
{%- endmacro %}

{# One row per day between two dates (inclusive), as column `day`. #}
{% macro day_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('day_spine', 'unticket')(start_date, end_date)) }}
{%- endmacro %}

{% macro duckdb__day_spine(start_date, end_date) -%}
    select cast(generate_series as date) as day
    from generate_series(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day)
{%- endmacro %}

{# Each day from one date to another (inclusive), one row per day of the row it is used on:
   a select-list expression (named by the caller) that multiplies the row. #}
{% macro each_day(start_date, end_date) -%}
    {{ return(adapter.dispatch('each_day', 'unticket')(start_date, end_date)) }}
{%- endmacro %}

{% macro duckdb__each_day(start_date, end_date) -%}
    cast(unnest(generate_series(
        cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day
    )) as date)
{%- endmacro %}

{# Day of week, Monday = 0. #}
{% macro weekday_monday_zero(day) -%}
    {{ return(adapter.dispatch('weekday_monday_zero', 'unticket')(day)) }}
{%- endmacro %}

{% macro duckdb__weekday_monday_zero(day) -%}
    (isodow({{ day }}) - 1)
{%- endmacro %}

{# The timestamp of a time of day on a date. #}
{% macro day_at(day, time_of_day) -%}
    {{ return(adapter.dispatch('day_at', 'unticket')(day, time_of_day)) }}
{%- endmacro %}

{% macro duckdb__day_at(day, time_of_day) -%}
    (cast({{ day }} as date) + cast({{ time_of_day }} as time))
{%- endmacro %}

{# The value of `column` on the row where `ordering` is largest (rows with a null ordering are
   skipped). Spark and Trino call this max_by. #}
{% macro max_by(column, ordering) -%}
    {{ return(adapter.dispatch('max_by', 'unticket')(column, ordering)) }}
{%- endmacro %}

{% macro duckdb__max_by(column, ordering) -%}
    arg_max({{ column }}, {{ ordering }})
{%- endmacro %}

{# The value of `column` on the row where `ordering` is smallest (Spark and Trino: min_by). #}
{% macro min_by(column, ordering) -%}
    {{ return(adapter.dispatch('min_by', 'unticket')(column, ordering)) }}
{%- endmacro %}

{% macro duckdb__min_by(column, ordering) -%}
    arg_min({{ column }}, {{ ordering }})
{%- endmacro %}

{# A number that orders events by time, then (for events of the same microsecond) by a hash of
   the id, so ties are broken the same way on every run. #}
{% macro event_order_key(occurred_at, event_id) -%}
    {{ return(adapter.dispatch('event_order_key', 'unticket')(occurred_at, event_id)) }}
{%- endmacro %}

{% macro duckdb__event_order_key(occurred_at, event_id) -%}
    (epoch_us({{ occurred_at }}) * 1000 + cast(hash({{ event_id }}) % 1000 as bigint))
{%- endmacro %}

{# Written after `name as` of a CTE that the query reads more than once: keep it inline. DuckDB
   would otherwise compute such a CTE whole, once, before the filters of the parts that read it
   can reach its scan. On an engine that inlines CTEs by itself, this macro becomes empty. #}
{% macro inlined() -%}
    {{ return(adapter.dispatch('inlined', 'unticket')()) }}
{%- endmacro %}

{% macro duckdb__inlined() -%}
    not materialized
{%- endmacro %}

{# A 64-bit hash of a value (`unique_by_hash` sorts these; Spark: xxhash64). #}
{% macro value_hash(value) -%}
    {{ return(adapter.dispatch('value_hash', 'unticket')(value)) }}
{%- endmacro %}

{% macro duckdb__value_hash(value) -%}
    hash({{ value }})
{%- endmacro %}
