-- The pre-automation baseline of each intent: how long the old way (a ticket) took to resolve,
-- in working hours. In order of preference: imported history mapped to the intent, the engine's
-- own escalations of that intent, all imported history, all escalations. `baseline_source` says
-- which one a figure comes from.

with

intents as (

    select * from {{ ref('stg_catalogue__intents') }}

),

history as (

    select * from {{ ref('int_history_tickets_timed') }}
    where working_hours_to_resolve is not null

),

escalations as (

    select
        interactions.intent,
        timed.working_seconds_to_resolution / 3600.0 as working_hours,

    from {{ ref('int_interactions_summarised') }} as interactions
    inner join {{ ref('int_interactions_timed') }} as timed
        on interactions.interaction_id = timed.interaction_id
    where interactions.outcome = 'escalated' and timed.working_seconds_to_resolution is not null

),

history_by_intent as (

    select
        intent,
        count(*) as history_tickets,
        {{ percentile('working_hours_to_resolve', 0.5) }} as history_p50_hours,

    from history
    group by intent

),

escalations_by_intent as (

    select
        intent,
        {{ percentile('working_hours', 0.5) }} as escalation_p50_hours,

    from escalations
    group by intent

),

overall as (

    select
        (select {{ percentile('working_hours_to_resolve', 0.5) }} from history) as history_p50_hours,
        (select {{ percentile('working_hours', 0.5) }} from escalations) as escalation_p50_hours,

),

baselines as (

    select
        intents.intent,
        coalesce(history_by_intent.history_tickets, 0) as history_tickets,
        coalesce(
            history_by_intent.history_p50_hours,
            escalations_by_intent.escalation_p50_hours,
            overall.history_p50_hours,
            overall.escalation_p50_hours
        ) as baseline_working_hours,
        case
            when history_by_intent.history_p50_hours is not null then 'history_intent'
            when escalations_by_intent.escalation_p50_hours is not null then 'escalations_intent'
            when overall.history_p50_hours is not null then 'history_all'
            when overall.escalation_p50_hours is not null then 'escalations_all'
            else 'none'
        end as baseline_source,

    from intents
    cross join overall
    left join history_by_intent on intents.intent = history_by_intent.intent
    left join escalations_by_intent on intents.intent = escalations_by_intent.intent

)

select * from baselines
