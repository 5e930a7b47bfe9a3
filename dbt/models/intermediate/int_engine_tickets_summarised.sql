-- Tickets the engine opened or linked reports to (major incidents), with when they were resolved;
-- a ticket queued while the ITSM was down under its provisional id, with the ITSM's id.
-- Incremental: tickets with newly loaded events are summarised again.

{{ config(materialized='incremental', unique_key='ticket_id', incremental_strategy='delete+insert') }}

{% set bounds = {'loaded_after': none, 'scan_from': none} %}
{% if execute and is_incremental() %}
    {% set bounds = event_scan_bounds('ticket_id', 'opened_at', 'stg_unticket__ticket_events') %}
{% endif %}

with

events as (

    select * from {{ ref('stg_unticket__ticket_events') }}
    where true  -- on incremental builds, only the tickets with new events:
    {% if is_incremental() %}
        {{ changed_events_filter('ticket_id', bounds, 'stg_unticket__ticket_events') }}
    {% endif %}

),

opened as (

    select
        ticket_id,
        min(occurred_at) as opened_at,
        max(case when event_type = 'ticket_opened' then priority end) as priority,
        max(case when event_type = 'ticket_opened' then reason end) as escalation_reason,
        min(case when event_type = 'ticket_opened' then interaction_id end) as interaction_id,
        count(distinct case when event_type = 'outcome_recorded' then interaction_id end)
            as linked_interactions,
        -- a major incident has no interaction of its own: it is about its reports' intent
        -- (an outage is detected per intent, so they share one; min() keeps it deterministic)
        min(case when event_type = 'outcome_recorded' then intent end) as linked_intent,

    from events
    where event_type in ('ticket_opened', 'outcome_recorded')
    group by ticket_id

),

resolved as (

    select
        ticket_id,
        min(occurred_at) as resolved_at,

    from events
    where event_type = 'ticket_status_changed' and ticket_status in ('resolved', 'closed')
    group by ticket_id

),

loaded as (

    select ticket_id, max(itsm_ticket_id) as itsm_ticket_id, max(loaded_at) as last_loaded_at
    from events
    group by ticket_id

),

summarised as (

    select
        opened.ticket_id,
        opened.interaction_id,
        opened.opened_at,
        resolved.resolved_at,
        coalesce(opened.priority, 'P1') as priority,
        coalesce(opened.escalation_reason, 'linked_to_incident') as escalation_reason,
        opened.linked_interactions,
        opened.linked_intent,
        loaded.itsm_ticket_id,
        loaded.last_loaded_at,
        {{ build_stamp() }} as built_at,

    from opened
    inner join loaded on opened.ticket_id = loaded.ticket_id
    left join resolved on opened.ticket_id = resolved.ticket_id

)

select * from summarised
