{#-
    Engine-specific SQL, one dispatched macro per construct (`adapter.dispatch`): each macro
    here has a `duckdb__` and a `spark__` implementation, and a port to another engine adds its
    own beside them (dbt-databricks falls back to the `spark__` ones); an engine without one
    fails to compile, by name.

    Beyond these macros the models are SQL both engines parse (`make lint` parses them as DuckDB
    and as Spark SQL): no trailing comma before `from`, no `* replace` / `* exclude`, types
    through `dbt.type_*`, dbt's cross-database macros (`dbt.datediff`, `dbt.date_trunc`, ...)
    where they exist, and floating-point constants written as such (`x / 3600e0`: `3600.0` is
    an exact decimal on Spark, rounded to 6 places). How incremental models replace rows on
    each engine is in incremental.sql; the sources Spark reads from files, in
    sources_on_files.sql.
-#}

{# A percentile of a column, as an aggregate (continuous interpolation). #}
{% macro percentile(column, fraction) -%}
    {{ return(adapter.dispatch('percentile', 'unticket')(column, fraction)) }}
{%- endmacro %}

{% macro duckdb__percentile(column, fraction) -%}
    quantile_cont({{ column }}, {{ fraction }})
{%- endmacro %}

{% macro spark__percentile(column, fraction) -%}
    percentile({{ column }}, {{ fraction }})
{%- endmacro %}

{# Several percentiles of a column from one sort, as an aggregate returning an array (Spark's
   percentile and Trino's approx_percentile take an array of fractions too). #}
{% macro percentiles(column, fractions) -%}
    {{ return(adapter.dispatch('percentiles', 'unticket')(column, fractions)) }}
{%- endmacro %}

{% macro duckdb__percentiles(column, fractions) -%}
    quantile_cont({{ column }}, [{{ fractions | join(', ') }}])
{%- endmacro %}

{% macro spark__percentiles(column, fractions) -%}
    percentile({{ column }}, array({{ fractions | join(', ') }}))
{%- endmacro %}

{# The element at a 1-based position of an array. #}
{% macro array_item(array, position) -%}
    {{ return(adapter.dispatch('array_item', 'unticket')(array, position)) }}
{%- endmacro %}

{% macro duckdb__array_item(array, position) -%}
    {{ array }}[{{ position }}]
{%- endmacro %}

{% macro spark__array_item(array, position) -%}
    element_at({{ array }}, {{ position }})
{%- endmacro %}

{# A naive local timestamp in an IANA time zone, converted to naive UTC. #}
{% macro local_to_utc(local_timestamp, timezone) -%}
    {{ return(adapter.dispatch('local_to_utc', 'unticket')(local_timestamp, timezone)) }}
{%- endmacro %}

{% macro duckdb__local_to_utc(local_timestamp, timezone) -%}
    cast(timezone('UTC', timezone({{ timezone }}, {{ local_timestamp }})) as timestamp)
{%- endmacro %}

{% macro spark__local_to_utc(local_timestamp, timezone) -%}
    to_utc_timestamp({{ local_timestamp }}, {{ timezone }})
{%- endmacro %}

{# One row per day between two dates (inclusive), as column `day`. #}
{% macro day_spine(start_date, end_date) -%}
    {{ return(adapter.dispatch('day_spine', 'unticket')(start_date, end_date)) }}
{%- endmacro %}

{% macro duckdb__day_spine(start_date, end_date) -%}
    select cast(generate_series as date) as day
    from generate_series(cast({{ start_date }} as date), cast({{ end_date }} as date), interval 1 day)
{%- endmacro %}

{% macro spark__day_spine(start_date, end_date) -%}
    select explode(sequence(cast({{ start_date }} as date), cast({{ end_date }} as date))) as day
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

{% macro spark__each_day(start_date, end_date) -%}
    explode(sequence(cast({{ start_date }} as date), cast({{ end_date }} as date)))
{%- endmacro %}

{# Day of week, Monday = 0. #}
{% macro weekday_monday_zero(day) -%}
    {{ return(adapter.dispatch('weekday_monday_zero', 'unticket')(day)) }}
{%- endmacro %}

{% macro duckdb__weekday_monday_zero(day) -%}
    (isodow({{ day }}) - 1)
{%- endmacro %}

{% macro spark__weekday_monday_zero(day) -%}
    weekday({{ day }})
{%- endmacro %}

{# The timestamp of a time of day on a date. #}
{% macro day_at(day, time_of_day) -%}
    {{ return(adapter.dispatch('day_at', 'unticket')(day, time_of_day)) }}
{%- endmacro %}

{% macro duckdb__day_at(day, time_of_day) -%}
    (cast({{ day }} as date) + cast({{ time_of_day }} as time))
{%- endmacro %}

{% macro spark__day_at(day, time_of_day) -%}
    cast(concat(cast(cast({{ day }} as date) as string), ' ', {{ time_of_day }}) as timestamp)
{%- endmacro %}

{# The value of `column` on the row where `ordering` is largest (rows with a null ordering are
   skipped). Spark and Trino call this max_by. #}
{% macro max_by(column, ordering) -%}
    {{ return(adapter.dispatch('max_by', 'unticket')(column, ordering)) }}
{%- endmacro %}

{% macro duckdb__max_by(column, ordering) -%}
    arg_max({{ column }}, {{ ordering }})
{%- endmacro %}

{% macro spark__max_by(column, ordering) -%}
    max_by({{ column }}, {{ ordering }})
{%- endmacro %}

{# The value of `column` on the row where `ordering` is smallest (Spark and Trino: min_by). #}
{% macro min_by(column, ordering) -%}
    {{ return(adapter.dispatch('min_by', 'unticket')(column, ordering)) }}
{%- endmacro %}

{% macro duckdb__min_by(column, ordering) -%}
    arg_min({{ column }}, {{ ordering }})
{%- endmacro %}

{% macro spark__min_by(column, ordering) -%}
    min_by({{ column }}, {{ ordering }})
{%- endmacro %}

{# A number that orders events by time, then (for events of the same microsecond) by a hash of
   the id, so ties are broken the same way on every run. #}
{% macro event_order_key(occurred_at, event_id) -%}
    {{ return(adapter.dispatch('event_order_key', 'unticket')(occurred_at, event_id)) }}
{%- endmacro %}

{% macro duckdb__event_order_key(occurred_at, event_id) -%}
    (epoch_us({{ occurred_at }}) * 1000 + cast(hash({{ event_id }}) % 1000 as bigint))
{%- endmacro %}

{% macro spark__event_order_key(occurred_at, event_id) -%}
    (unix_micros({{ occurred_at }}) * 1000 + pmod(xxhash64({{ event_id }}), 1000))
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

{% macro spark__inlined() -%}
{%- endmacro %}

{# A 64-bit hash of a value (`unique_by_hash` sorts these; Spark: xxhash64). #}
{% macro value_hash(value) -%}
    {{ return(adapter.dispatch('value_hash', 'unticket')(value)) }}
{%- endmacro %}

{% macro duckdb__value_hash(value) -%}
    hash({{ value }})
{%- endmacro %}

{% macro spark__value_hash(value) -%}
    xxhash64({{ value }})
{%- endmacro %}

{# A time of day written 'HH:MM' (the catalogue's office hours), as the type `day_at` takes. #}
{% macro time_of_day(text) -%}
    {{ return(adapter.dispatch('time_of_day', 'unticket')(text)) }}
{%- endmacro %}

{% macro duckdb__time_of_day(text) -%}
    cast({{ text }} as time)
{%- endmacro %}

{% macro spark__time_of_day(text) -%}
    trim({{ text }})
{%- endmacro %}
