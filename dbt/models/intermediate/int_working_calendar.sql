-- One row per office per working day: the working interval in UTC. Weekends (per the office's
-- working weekdays) and the office's holidays have no row.

with

locations as (

    select * from {{ ref('stg_catalogue__locations') }}

),

holidays as (

    select * from {{ ref('stg_catalogue__holidays') }}

),

event_bounds as (

    select
        cast({{ dbt.dateadd('day', -7, 'min(occurred_at)') }} as date) as first_day,
        cast({{ dbt.dateadd('day', 60, 'max(occurred_at)') }} as date) as last_day

    from {{ ref('stg_unticket__events') }}

),

days as (

    {{ day_spine('(select first_day from event_bounds)', '(select last_day from event_bounds)') }}

),

working_days as (

    select
        locations.location_id,
        locations.timezone,
        days.day,
        locations.work_start,
        locations.work_end

    from locations
    cross join days
    left join holidays
        on locations.location_id = holidays.location_id and days.day = holidays.holiday
    where holidays.holiday is null
        and instr(
            locations.working_weekdays,
            cast({{ weekday_monday_zero('days.day') }} as {{ dbt.type_string() }})
        ) > 0

),

intervals as (

    select
        location_id,
        day,
        {{ local_to_utc(day_at('day', 'work_start'), 'timezone') }} as work_start_at,
        {{ local_to_utc(day_at('day', 'work_end'), 'timezone') }} as work_end_at

    from working_days

)

select * from intervals
