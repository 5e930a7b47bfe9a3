-- One row per interaction, summarising its events in one pass: who, where, in which language,
-- what, how it ended and when. "Latest" means latest by (occurred_at, event_id), so ties are broken the same way
-- on every run. Incremental: interactions with newly loaded events are summarised again.

{{ config(
    materialized='incremental', unique_key='interaction_id', incremental_strategy=replacing_strategy(),
    partition_by='started_on'
) }}

{% set bounds = {'loaded_after': none, 'scan_from': none} %}
{% if execute and is_incremental() %}
    {% set bounds = event_scan_bounds('interaction_id', 'started_at') %}
{% endif %}

with

ordered as (

    select
        *,
        {{ event_order_key('occurred_at', 'event_id') }} as event_order

    from {{ ref('stg_unticket__events') }}
    where interaction_id is not null
    {% if is_incremental() %}
        {{ changed_events_filter('interaction_id', bounds) }}
    {% endif %}

),

summarised as (

    -- each "latest of an event type" aggregates only that type's events (`filter`)
    select
        interaction_id,
        max(employee_id) as employee_id,
        {{ min_by('channel', 'event_order') }} as first_channel,
        -- null when the interaction's start carried none (logged before languages were)
        {{ min_by('language', 'event_order') }} filter (where event_type = 'interaction_started')
            as language,
        coalesce(
            {{ max_by('intent', 'event_order') }} filter (where event_type = 'outcome_recorded'),
            {{ max_by('intent', 'event_order') }} filter (where event_type = 'intent_detected'),
            'unknown'
        ) as intent,
        {{ max_by('confidence', 'event_order') }} filter (where event_type = 'intent_detected')
            as last_confidence,
        coalesce(
            {{ max_by('outcome', 'event_order') }} filter (where event_type = 'outcome_recorded'),
            'pending'
        ) as outcome,
        {{ max_by('feedback', 'event_order') }} filter (where event_type = 'feedback_received')
            as feedback,
        {{ max_by('ticket_id', 'event_order') }} filter (where event_type = 'outcome_recorded')
            as ticket_id,
        min(occurred_at) as started_at,
        min(occurred_at) filter (
            where event_type = 'outcome_recorded' and outcome in ('auto_resolved', 'answered')
        ) as first_resolved_at,
        max(occurred_at) filter (where event_type = 'interaction_closed') as closed_at,
        count(*) filter (where event_type = 'message_received') as employee_messages,
        coalesce(bool_or(event_type = 'action_executed' and action_result = 'success'), false)
            as automation_ran,
        coalesce(bool_or(event_type = 'ticket_opened'), false) as ticket_opened,
        -- an answer was sent, whatever came after it (confirmed, rejected and escalated, ...)
        coalesce(bool_or(event_type = 'outcome_recorded' and outcome = 'answered'), false)
            as was_answered,
        max(loaded_at) as last_loaded_at

    from ordered
    group by interaction_id

),

final as (

    select
        interaction_id,
        employee_id,
        first_channel as channel,
        language,
        intent,
        last_confidence,
        outcome,
        feedback,
        ticket_id,
        started_at,
        first_resolved_at,
        closed_at,
        employee_messages,
        automation_ran,
        ticket_opened,
        was_answered,
        last_loaded_at,
        {{ build_stamp() }} as built_at,
        cast(started_at as date) as started_on

    from summarised

)

select * from final
{{ kept_rows('interaction_id', 'started_on') }}
