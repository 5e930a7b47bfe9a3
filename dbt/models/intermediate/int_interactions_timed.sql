-- How long each interaction took to resolve, in calendar and in working time. Working time
-- counts only the employee's office hours (time zone, working weekdays, holidays); employees the
-- directory does not know use the first office's calendar. Escalated interactions resolve when
-- their ticket does. Incremental: interactions that changed, or whose ticket changed, are timed
-- again.

{{ config(
    materialized='incremental', unique_key='interaction_id', incremental_strategy=replacing_strategy(),
    partition_by='started_on'
) }}

with

interactions as (

    select * from {{ ref('int_interactions_summarised') }}
    {% if is_incremental() %}
    where built_at > {{ watermark('built_at') }}
        or ticket_id in (
            select ticket_id from {{ ref('int_engine_tickets_summarised') }}
            where built_at > {{ watermark('built_at') }}
        )
    {% endif %}

),

tickets as (

    select * from {{ ref('int_engine_tickets_summarised') }}

),

employees as (

    select * from {{ ref('stg_roster__employees') }}

),

calendar as (

    select * from {{ ref('int_working_calendar') }}

),

default_location as (

    select min(location_id) as location_id from {{ ref('stg_catalogue__locations') }}

),

resolved as (

    select
        interactions.interaction_id,
        interactions.started_at,
        coalesce(employees.location_id, default_location.location_id) as location_id,
        case
            when interactions.outcome in ('auto_resolved', 'answered')
                then interactions.first_resolved_at
            when interactions.outcome = 'escalated' then tickets.resolved_at
        end as resolved_at

    from interactions
    cross join default_location
    left join employees on interactions.employee_id = employees.employee_id
    left join tickets on interactions.ticket_id = tickets.ticket_id

),

resolved_days as (

    -- the days whose working interval can overlap the interaction: an office's working day
    -- lies within the UTC day before it and the one after, so from the day before the start
    -- to the day after the resolution (an equality join then meets a few calendar rows per
    -- interaction, not every working day of its office)
    select
        interaction_id,
        location_id,
        started_at,
        resolved_at,
        {{ each_day(
            dbt.dateadd('day', -1, 'started_at'), dbt.dateadd('day', 1, 'resolved_at')
        ) }} as day

    from resolved
    where resolved_at is not null

),

working_seconds as (

    select
        resolved_days.interaction_id,
        cast(sum(
            greatest(
                0,
                {{ dbt.datediff(
                    'greatest(resolved_days.started_at, calendar.work_start_at)',
                    'least(resolved_days.resolved_at, calendar.work_end_at)',
                    'second'
                ) }}
            )
        ) as bigint) as seconds

    from resolved_days
    inner join calendar
        on resolved_days.location_id = calendar.location_id
        and resolved_days.day = calendar.day
        and resolved_days.started_at < calendar.work_end_at
        and resolved_days.resolved_at > calendar.work_start_at
    group by resolved_days.interaction_id

),

timed as (

    select
        resolved.interaction_id,
        resolved.location_id,
        resolved.resolved_at,
        {{ dbt.datediff('resolved.started_at', 'resolved.resolved_at', 'second') }}
            as seconds_to_resolution,
        case
            when resolved.resolved_at is not null then coalesce(working_seconds.seconds, 0)
        end as working_seconds_to_resolution,
        {{ build_stamp() }} as built_at,
        cast(resolved.started_at as date) as started_on

    from resolved
    left join working_seconds on resolved.interaction_id = working_seconds.interaction_id

)

select * from timed
{{ kept_rows('interaction_id', 'started_on', 'timed') }}
