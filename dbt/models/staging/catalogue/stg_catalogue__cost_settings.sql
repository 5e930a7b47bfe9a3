with

source as (

    select * from {{ source('catalogue', 'cost_settings') }}

),

renamed as (

    select
        cast(default_loaded_hourly_cost as double) as default_loaded_hourly_cost,
        cast(ticket_context_switch_minutes as double) as ticket_context_switch_minutes

    from source

)

select * from renamed
