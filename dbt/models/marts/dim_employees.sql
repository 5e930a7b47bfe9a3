with

employees as (

    select * from {{ ref('stg_roster__employees') }}

),

locations as (

    select * from {{ ref('stg_catalogue__locations') }}

),

cost_settings as (

    select * from {{ ref('stg_catalogue__cost_settings') }}

),

final as (

    select
        employees.employee_id,
        employees.employee_name,
        employees.department,
        employees.location_id,
        locations.location_name,
        locations.timezone,
        employees.manager_id,
        employees.title,
        coalesce(employees.loaded_hourly_cost, cost_settings.default_loaded_hourly_cost)
            as loaded_hourly_cost

    from employees
    cross join cost_settings
    left join locations on employees.location_id = locations.location_id

)

select * from final
