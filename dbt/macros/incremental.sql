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

{# The newest value of a time column in this model's existing table (an old date if empty),
   as a literal: a filter on a literal lets the database skip row groups by their statistics. #}
{% macro watermark(column) -%}
    {%- if model.resource_type == 'unit_test' -%}
        {#- a unit test gives `this` as rows inside the query: read it there -#}
        (select coalesce(max({{ column }}), cast('1900-01-01' as timestamp)) from {{ this }})
    {%- else -%}
        {%- set newest = run_query('select max(' ~ column ~ ') from ' ~ this).rows[0][0] -%}
        cast('{{ newest if newest is not none else "1900-01-01" }}' as timestamp)
    {%- endif -%}
{%- endmacro %}

{# For an incremental model over events keyed by `key`: the newest load time it has seen
   (`loaded_after`, a literal) and the oldest time an event of a changed key can have
   (`scan_from`: the key's start in this table, or its first new event; none when nothing
   changed). Both are literals, so the model's filters let the database prune row groups.
   `events` names the model of events read (the engine's events by default). #}
{% macro event_scan_bounds(key, start_column, events='stg_unticket__events') %}
    {% set loaded_after = watermark('last_loaded_at') %}
    {% set query %}
        with
        changed as (
            select {{ key }} as changed_key, min(occurred_at) as first_new_at
            from {{ ref(events) }}
            where {{ key }} is not null and loaded_at > {{ loaded_after }}
            group by 1
        )
        -- a union, not a left join to this table: the database builds its hash table on the
        -- few changed keys instead of on every row of this table
        select min(scan_from) from (
            select first_new_at as scan_from from changed
            union all
            select {{ start_column }} from {{ this }}
            where {{ key }} in (select changed_key from changed)
        ) as starts
    {% endset %}
    {% set scan_from = run_query(query).rows[0][0] %}
    {{ return({'loaded_after': loaded_after, 'scan_from': scan_from}) }}
{% endmacro %}

{# The filter of an incremental model's events: only keys with events loaded after
   `bounds.loaded_after`, and only events from `bounds.scan_from` on. #}
{% macro changed_events_filter(key, bounds, events='stg_unticket__events') -%}
    {%- if bounds.scan_from is none -%}
        and false
    {%- else -%}
        and occurred_at >= cast('{{ bounds.scan_from }}' as timestamp)
        and {{ key }} in (
            select {{ key }} from {{ ref(events) }}
            where loaded_at > {{ bounds.loaded_after }}
        )
    {%- endif -%}
{%- endmacro %}

{# For a KPI mart of periods (`grain`: day or week) over fct_interactions: the start of the
   first period holding an interaction rebuilt since this mart's last build, as a literal
   (none when no interaction changed). The mart rebuilds every period from there on whole. #}
{% macro first_changed_period(grain) %}
    {% set query %}
        select cast({{ dbt.date_trunc(grain, 'min(started_at)') }} as date)
        from {{ ref('fct_interactions') }}
        where built_at > {{ watermark('built_at') }}
    {% endset %}
    {{ return(run_query(query).rows[0][0]) }}
{% endmacro %}

{# The filter of a period mart's interactions: none on a full build; on an incremental one,
   only the periods from the first changed one (`first_changed_period`). #}
{% macro changed_periods_filter(grain) -%}
    {%- if is_incremental() -%}
        {%- set since = first_changed_period(grain) -%}
        {%- if since is none -%}
            and false
        {%- else -%}
            and started_at >= cast('{{ since }}' as date)
        {%- endif -%}
    {%- endif -%}
{%- endmacro %}

{#
    How an incremental model replaces its rows, on each engine. DuckDB deletes the rows of the
    keys (`unique_key`) or periods the run rebuilt and inserts the new ones. Spark on Parquet
    cannot delete rows: it overwrites whole partitions (`partition_by`: a day or week column),
    every partition the run wrote a row to. A period mart rebuilds whole periods anyway; a model
    keyed by an id adds `kept_rows` to its last select, the rows it did not rebuild in the
    partitions it overwrites, so both engines end with the same table.
#}
{% macro replacing_strategy() -%}
    {{ return(adapter.dispatch('replacing_strategy', 'unticket')()) }}
{%- endmacro %}

{% macro default__replacing_strategy() -%}
    {{ return('delete+insert') }}
{%- endmacro %}

{% macro spark__replacing_strategy() -%}
    {{ return('insert_overwrite') }}
{%- endmacro %}

{# The rows an incremental run on Spark keeps from `this`, after the model's last select (of
   the rebuilt rows, `rebuilt`): in every partition it overwrites (those of the rebuilt rows and
   those the rebuilt keys were in before), the rows of the keys it did not rebuild. The model
   puts `partition_column` last, where Spark keeps a partition column. #}
{% macro kept_rows(key, partition_column, rebuilt='final') -%}
    {{ return(adapter.dispatch('kept_rows', 'unticket')(key, partition_column, rebuilt)) }}
{%- endmacro %}

{% macro default__kept_rows(key, partition_column, rebuilt) -%}
{%- endmacro %}

{% macro spark__kept_rows(key, partition_column, rebuilt) -%}
    {%- if is_incremental() %}
union all
select kept.* from {{ this }} as kept
where exists (
        select 1 from (
            select {{ partition_column }} from {{ rebuilt }}
            union
            select {{ partition_column }} from {{ this }}
            where {{ key }} in (select {{ key }} from {{ rebuilt }})
        ) as overwritten
        where overwritten.{{ partition_column }} <=> kept.{{ partition_column }}
    )
    -- not exists, not `not in`: an anti join on the key, where `not in` must mind nulls
    and not exists (
        select 1 from {{ rebuilt }} as replaced where replaced.{{ key }} = kept.{{ key }}
    )
    {%- endif %}
{%- endmacro %}
