-- The engine's events about tickets, each under the ticket's one id for its whole life. A ticket
-- queued while the ITSM was unreachable is known by a provisional id (`Q-…`) until it is filed;
-- the `filed` status change links that id to the ITSM's, which later status changes carry. Here
-- every event carries the provisional id, and `itsm_ticket_id` the ITSM's. The columns are those
-- of stg_unticket__events, in its order, with `ticket_id` in its place.

with

events as {{ inlined() }} (

    select * from {{ ref('stg_unticket__events') }}
    where ticket_id is not null

),

filed as (

    select ticket_id as itsm_ticket_id, min(provisional_ticket_id) as provisional_ticket_id
    from events
    where event_type = 'ticket_status_changed' and ticket_status = 'filed'
        and provisional_ticket_id is not null
    group by ticket_id

),

canonical as (

    select
        events.event_id,
        events.event_type,
        events.occurred_at,
        events.interaction_id,
        events.employee_id,
        events.channel,
        events.intent,
        events.confidence,
        events.outcome,
        events.feedback,
        coalesce(filed.provisional_ticket_id, events.ticket_id) as ticket_id,
        events.provisional_ticket_id,
        events.approval_id,
        events.action,
        events.action_result,
        events.reason,
        events.ticket_status,
        events.resolution_note,
        events.resolution_category,
        events.assignment_group,
        events.decision,
        events.article_id,
        events.priority,
        events.language,
        events.source_file,
        events.source_line,
        events.loaded_at,
        filed.itsm_ticket_id

    from events
    left join filed on events.ticket_id = filed.itsm_ticket_id

)

select * from canonical
