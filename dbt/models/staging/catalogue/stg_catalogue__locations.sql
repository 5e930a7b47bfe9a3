with

source as (

    select * from {{ source('catalogue', 'locations') }}

),

renamed as (

    select
        location_id,
        name as location_name,
        timezone,
        cast(work_start as time) as work_start,
        cast(work_end as time) as work_end,
        weekdays as working_weekdays

    from source

)

select * from renamed
