-- Lost hours, hours saved and cost saved by department × intent × week.
-- Incremental: the weeks from the first one with a rebuilt interaction are recomputed whole.

{{ config(
    materialized='incremental', unique_key='week', incremental_strategy=replacing_strategy(),
    partition_by='week'
) }}

with

interactions as (

    select * from {{ ref('fct_interactions') }}
    where is_support {{ changed_periods_filter('week') }}

),

weekly as (

    select
        cast({{ dbt.date_trunc('week', 'started_at') }} as date) as week,
        coalesce(department, 'unknown') as department,
        intent,
        count(*) as interactions,
        sum(coalesce(lost_hours, 0)) as lost_hours,
        sum(case when lost_hours is not null then baseline_lost_hours else 0 end)
            as baseline_lost_hours,
        sum(hours_saved) as hours_saved,
        sum(cost_saved_usd) as cost_saved_usd

    from interactions
    group by 1, 2, 3

)

select *, {{ build_stamp() }} as built_at from weekly
