with

source as (

    select * from {{ source('roster', 'employees') }}

),

renamed as (

    select
        employee_id,
        name as employee_name,
        department,
        location as location_id,
        manager_id,
        title,
        cast(hourly_cost as double) as loaded_hourly_cost

    from source

)

select * from renamed
