-- Tickets the engine opened or linked reports to (major incidents), with when they were resolved
-- and how (the latest note, category and group the service desk gave, each the latest known);
-- a ticket queued while the ITSM was down under its provisional id, with the ITSM's id.
-- Incremental: tickets with newly loaded events are summarised again.

{{ config(
    materialized='incremental', unique_key='ticket_id', incremental_strategy=replacing_strategy(),
    partition_by='opened_on'
) }}

{% set bounds = {'loaded_after': none, 'scan_from': none} %}
{% if execute and is_incremental() %}
    {% set bounds = event_scan_bounds('ticket_id', 'opened_at', 'stg_unticket__ticket_events') %}
{% endif %}

with

events as (

    select
        *,
        {{ event_order_key('occurred_at', 'event_id') }} as event_order

    from {{ ref('stg_unticket__ticket_events') }}
    where true  -- on incremental builds, only the tickets with new events:
    {% if is_incremental() %}
        {{ changed_events_filter('ticket_id', bounds, 'stg_unticket__ticket_events') }}
    {% endif %}

),

summarised as (

    -- one pass over the ticket's events; each attribute aggregates only its events (`filter`)
    select
        ticket_id,
        min(occurred_at) filter (where event_type in ('ticket_opened', 'outcome_recorded'))
            as opened_at,
        min(occurred_at) filter (
            where event_type = 'ticket_status_changed' and ticket_status in ('resolved', 'closed')
        ) as resolved_at,
        max(priority) filter (where event_type = 'ticket_opened') as priority,
        max(reason) filter (where event_type = 'ticket_opened') as escalation_reason,
        min(interaction_id) filter (where event_type = 'ticket_opened') as interaction_id,
        count(distinct interaction_id) filter (where event_type = 'outcome_recorded')
            as linked_interactions,
        -- a major incident has no interaction of its own: it is about its reports' intent
        -- (an outage is detected per intent, so they share one; min() keeps it deterministic)
        min(intent) filter (where event_type = 'outcome_recorded') as linked_intent,
        -- how it was fixed: each the latest a status change carried (a reopened ticket keeps
        -- its last resolution until it is resolved again)
        {{ max_by('resolution_note', 'event_order') }} filter (
            where event_type = 'ticket_status_changed' and resolution_note is not null
        ) as resolution_note,
        {{ max_by('resolution_category', 'event_order') }} filter (
            where event_type = 'ticket_status_changed' and resolution_category is not null
        ) as resolution_category,
        {{ max_by('assignment_group', 'event_order') }} filter (
            where event_type = 'ticket_status_changed' and assignment_group is not null
        ) as assignment_group,
        max(itsm_ticket_id) as itsm_ticket_id,
        max(loaded_at) as last_loaded_at

    from events
    group by ticket_id

),

final as (

    -- a ticket is one the engine opened, or one it linked reports to
    select
        ticket_id,
        interaction_id,
        opened_at,
        resolved_at,
        coalesce(priority, 'P1') as priority,
        coalesce(escalation_reason, 'linked_to_incident') as escalation_reason,
        linked_interactions,
        linked_intent,
        resolution_note,
        resolution_category,
        assignment_group,
        itsm_ticket_id,
        last_loaded_at,
        {{ build_stamp() }} as built_at,
        cast(opened_at as date) as opened_on

    from summarised
    where opened_at is not null

)

select * from final
{{ kept_rows('ticket_id', 'opened_on') }}
