with

source as (

    select * from {{ source('unticket', 'events') }}

),

renamed as (

    select
        event_id,
        event_type,
        occurred_at,
        interaction_id,
        employee_id,
        channel,
        intent,
        confidence,
        outcome,
        feedback,
        ticket_id,
        provisional_ticket_id,
        approval_id,
        action,
        result as action_result,
        reason,
        status as ticket_status,
        decision,
        article_id,
        priority,
        source_file,
        source_line,
        loaded_at

    from source

)

select * from renamed
