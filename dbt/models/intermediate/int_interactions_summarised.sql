-- One row per interaction, summarising its events in one pass: who, where, what, how it ended
-- and when. "Latest" means latest by (occurred_at, event_id), so ties are broken the same way
-- on every run. Incremental: interactions with newly loaded events are summarised again.

{{ config(materialized='incremental', unique_key='interaction_id', incremental_strategy='delete+insert') }}

{% set bounds = {'loaded_after': none, 'scan_from': none} %}
{% if execute and is_incremental() %}
    {% set bounds = event_scan_bounds('interaction_id', 'started_at') %}
{% endif %}

with

ordered as (

    select
        *,
        {{ event_order_key('occurred_at', 'event_id') }} as event_order,

    from {{ ref('stg_unticket__events') }}
    where interaction_id is not null
    {% if is_incremental() %}
        {{ changed_events_filter('interaction_id', bounds) }}
    {% endif %}

),

summarised as (

    select
        interaction_id,
        max(employee_id) as employee_id,
        {{ min_by('channel', 'event_order') }} as first_channel,
        coalesce(
            {{ max_by('intent', "case when event_type = 'outcome_recorded' then event_order end") }},
            {{ max_by('intent', "case when event_type = 'intent_detected' then event_order end") }},
            'unknown'
        ) as intent,
        {{ max_by('confidence', "case when event_type = 'intent_detected' then event_order end") }}
            as last_confidence,
        coalesce(
            {{ max_by('outcome', "case when event_type = 'outcome_recorded' then event_order end") }},
            'pending'
        ) as outcome,
        {{ max_by('feedback', "case when event_type = 'feedback_received' then event_order end") }}
            as feedback,
        {{ max_by('ticket_id', "case when event_type = 'outcome_recorded' then event_order end") }}
            as ticket_id,
        min(occurred_at) as started_at,
        min(case
            when event_type = 'outcome_recorded' and outcome in ('auto_resolved', 'answered')
                then occurred_at
        end) as first_resolved_at,
        max(case when event_type = 'interaction_closed' then occurred_at end) as closed_at,
        sum(case when event_type = 'message_received' then 1 else 0 end) as employee_messages,
        max(case
            when event_type = 'action_executed' and action_result = 'success' then 1 else 0
        end) = 1 as automation_ran,
        max(case when event_type = 'ticket_opened' then 1 else 0 end) = 1 as ticket_opened,
        max(loaded_at) as last_loaded_at,

    from ordered
    group by interaction_id

),

final as (

    select
        interaction_id,
        employee_id,
        first_channel as channel,
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
        last_loaded_at,
        {{ build_stamp() }} as built_at,

    from summarised

)

select * from final
