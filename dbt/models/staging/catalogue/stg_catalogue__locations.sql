with

source as (

    select * from {{ source('catalogue', 'locations') }}

),

renamed as (

    select
        location_id,
        name as location_name,
        timezone,
        {{ time_of_day("work_start") }} as work_start,
        {{ time_of_day("work_end") }} as work_end,
        weekdays as working_weekdays

    from source

)

select * from renamed
