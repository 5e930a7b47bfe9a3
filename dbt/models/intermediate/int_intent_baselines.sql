-- The pre-automation baseline of each intent: how long the old way (a ticket) took to resolve,
-- in working hours. In order of preference: imported history mapped to the intent, all imported
-- history, the catalogue's assumption for the intent. `baseline_source` says which one a figure
-- comes from. The engine's own escalations are never a baseline: they are the hard cases that
-- automation left, and baselines must not move with every new interaction.

with

intents as (

    select * from {{ ref('stg_catalogue__intents') }}

),

history as (

    select * from {{ ref('int_history_tickets_timed') }}
    where working_hours_to_resolve is not null

),

history_by_intent as (

    select
        intent,
        count(*) as history_tickets,
        {{ percentile('working_hours_to_resolve', 0.5) }} as history_p50_hours

    from history
    group by intent

),

overall as (

    select {{ percentile('working_hours_to_resolve', 0.5) }} as history_p50_hours
    from history

),

baselines as (

    select
        intents.intent,
        coalesce(history_by_intent.history_tickets, 0) as history_tickets,
        coalesce(
            history_by_intent.history_p50_hours,
            overall.history_p50_hours,
            intents.assumed_baseline_working_hours
        ) as baseline_working_hours,
        case
            when history_by_intent.history_p50_hours is not null then 'history_intent'
            when overall.history_p50_hours is not null then 'history_all'
            when intents.assumed_baseline_working_hours is not null then 'catalogue_assumption'
            else 'none'
        end as baseline_source

    from intents
    cross join overall
    left join history_by_intent on intents.intent = history_by_intent.intent

)

select * from baselines
