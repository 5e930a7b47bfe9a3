with

source as (

    select * from {{ source('history', 'ticket_activities') }}

),

renamed as (

    select
        source || ':' || ticket_id as ticket_key,
        seq as activity_position,
        occurred_at,
        activity,
        state,
        assignment_group

    from source

)

select * from renamed
