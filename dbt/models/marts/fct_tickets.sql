-- One row per ticket from every source: imported history and the tickets the engine opened.
-- Incremental: engine tickets that changed, or whose interaction changed, are rebuilt; history
-- changes only by an import, which makes the next build a full refresh.

{{ config(
    materialized='incremental', unique_key='ticket_key', incremental_strategy=replacing_strategy(),
    partition_by='opened_on'
) }}

with

history as (

    select * from {{ ref('int_history_tickets_timed') }}
    {% if is_incremental() %}
    where false
    {% endif %}

),

engine_tickets as (

    select * from {{ ref('int_engine_tickets_summarised') }}
    {% if is_incremental() %}
    where built_at > {{ watermark('built_at') }}
        or interaction_id in (
            select interaction_id from {{ ref('int_interactions_timed') }}
            where built_at > {{ watermark('built_at') }}
        )
    {% endif %}

),

interactions as (

    select * from {{ ref('int_interactions_summarised') }}

),

timed_interactions as (

    select * from {{ ref('int_interactions_timed') }}

),

from_history as (

    select
        ticket_key,
        source,
        ticket_id,
        priority,
        initial_priority,
        category,
        intent,
        opened_at,
        resolved_at,
        hours_to_resolve,
        working_hours_to_resolve,
        reassignments,
        reopens,
        cast(null as {{ dbt.type_string() }}) as itsm_ticket_id,
        resolution_note,
        resolution_category,
        assignment_group

    from history

),

from_engine as (

    select
        'unticket:' || engine_tickets.ticket_id as ticket_key,
        'unticket' as source,
        engine_tickets.ticket_id,
        engine_tickets.priority,
        engine_tickets.priority as initial_priority,
        engine_tickets.escalation_reason as category,
        coalesce(interactions.intent, engine_tickets.linked_intent, 'unmapped') as intent,
        engine_tickets.opened_at,
        engine_tickets.resolved_at,
        {{ dbt.datediff('engine_tickets.opened_at', 'engine_tickets.resolved_at', 'second') }}
            / 3600e0 as hours_to_resolve,
        timed_interactions.working_seconds_to_resolution / 3600e0 as working_hours_to_resolve,
        0 as reassignments,
        0 as reopens,
        engine_tickets.itsm_ticket_id,
        engine_tickets.resolution_note,
        engine_tickets.resolution_category,
        engine_tickets.assignment_group

    from engine_tickets
    left join interactions on engine_tickets.interaction_id = interactions.interaction_id
    left join timed_interactions
        on engine_tickets.interaction_id = timed_interactions.interaction_id

),

unioned as (

    select * from from_history
    union all
    select * from from_engine

),

final as (

    select
        *,
        {{ build_stamp() }} as built_at,
        cast(opened_at as date) as opened_on

    from unioned

)

select * from final
{{ kept_rows('ticket_key', 'opened_on') }}
