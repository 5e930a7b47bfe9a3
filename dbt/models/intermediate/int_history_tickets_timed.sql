-- Imported tickets with their time to resolve in calendar and working hours, and the intent
-- their category maps to. History has no employee office, so working time uses the standard
-- working hours of the catalogue on weekdays, in the ticket's own (local) clock.

with

tickets as (

    select * from {{ ref('stg_history__tickets') }}
    where opened_at is not null

),

category_map as (

    select * from {{ ref('category_intent_map') }}

),

standard_hours as (

    select
        min(work_start) as work_start,
        min(work_end) as work_end

    from {{ ref('stg_catalogue__locations') }}

),

bounds as (

    select
        cast(min(opened_at) as date) as first_day,
        cast(max(coalesce(resolved_at, opened_at)) as date) as last_day

    from tickets

),

days as (

    {{ day_spine('(select first_day from bounds)', '(select last_day from bounds)') }}

),

working_intervals as (

    select
        {{ day_at('days.day', 'standard_hours.work_start') }} as work_start_at,
        {{ day_at('days.day', 'standard_hours.work_end') }} as work_end_at

    from days
    cross join standard_hours
    where {{ weekday_monday_zero('days.day') }} < 5

),

working_seconds as (

    select
        tickets.ticket_key,
        sum(
            greatest(
                0,
                {{ dbt.datediff(
                    'greatest(tickets.opened_at, working_intervals.work_start_at)',
                    'least(tickets.resolved_at, working_intervals.work_end_at)',
                    'second'
                ) }}
            )
        ) as seconds

    from tickets
    inner join working_intervals
        on tickets.opened_at < working_intervals.work_end_at
        and tickets.resolved_at > working_intervals.work_start_at
    group by tickets.ticket_key

),

timed as (

    select
        tickets.*,
        coalesce(category_map.intent, 'unmapped') as intent,
        {{ dbt.datediff('tickets.opened_at', 'tickets.resolved_at', 'second') }} / 3600e0
            as hours_to_resolve,
        case
            when tickets.resolved_at is not null then coalesce(working_seconds.seconds, 0) / 3600e0
        end as working_hours_to_resolve

    from tickets
    left join category_map
        on tickets.source = category_map.source and tickets.category = category_map.category
    left join working_seconds on tickets.ticket_key = working_seconds.ticket_key

)

select * from timed
