-- One row per interaction, summarising its events: who, where, what, how it ended and when.

with

events as (

    select * from {{ ref('stg_unticket__events') }}
    where interaction_id is not null

),

ordered as (

    select
        *,
        row_number() over (
            partition by interaction_id order by occurred_at, event_id
        ) as position_from_start,
        row_number() over (
            partition by interaction_id, event_type
            order by occurred_at desc, event_id desc
        ) as position_from_end_of_type,

    from events

),

first_events as (

    select
        interaction_id,
        occurred_at as started_at,
        channel,

    from ordered
    where position_from_start = 1

),

latest_outcomes as (

    select
        interaction_id,
        outcome,
        intent as outcome_intent,
        ticket_id,

    from ordered
    where event_type = 'outcome_recorded' and position_from_end_of_type = 1

),

latest_detections as (

    select
        interaction_id,
        intent as detected_intent,
        confidence,

    from ordered
    where event_type = 'intent_detected' and position_from_end_of_type = 1

),

latest_feedback as (

    select
        interaction_id,
        feedback,

    from ordered
    where event_type = 'feedback_received' and position_from_end_of_type = 1

),

activity as (

    select
        interaction_id,
        max(employee_id) as employee_id,
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

    from events
    group by interaction_id

),

summarised as (

    select
        first_events.interaction_id,
        activity.employee_id,
        first_events.channel,
        coalesce(latest_outcomes.outcome_intent, latest_detections.detected_intent, 'unknown')
            as intent,
        latest_detections.confidence as last_confidence,
        coalesce(latest_outcomes.outcome, 'pending') as outcome,
        latest_feedback.feedback,
        latest_outcomes.ticket_id,
        first_events.started_at,
        activity.first_resolved_at,
        activity.closed_at,
        activity.employee_messages,
        activity.automation_ran,
        activity.ticket_opened,

    from first_events
    inner join activity on first_events.interaction_id = activity.interaction_id
    left join latest_outcomes on first_events.interaction_id = latest_outcomes.interaction_id
    left join latest_detections on first_events.interaction_id = latest_detections.interaction_id
    left join latest_feedback on first_events.interaction_id = latest_feedback.interaction_id

)

select * from summarised
