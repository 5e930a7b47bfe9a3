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
        -- on ticket_status_changed to resolved or closed: how the ticket was fixed, when known
        -- (the note is redacted by the engine before it is logged)
        resolution_note,
        resolution_category,
        assignment_group,
        decision,
        article_id,
        priority,
        -- the employee's language, on interaction_started: one of the engine's ISO 639-1 codes
        -- (vocabulary.Language; case and spaces forgiven), 'und' (undetermined) for any other
        -- value, null where the event has none (events logged before languages were recorded)
        case
            when lower(trim(language)) in ('en', 'de', 'es', 'fr') then lower(trim(language))
            when language is not null then 'und'
        end as language,
        source_file,
        source_line,
        loaded_at

    from source

)

select * from renamed
