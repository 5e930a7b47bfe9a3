-- The same weeks under four definitions of deflection, side by side, so a leader can compare
-- like with like. `strict` is the headline; `lenient` is never to be presented as one.
-- Incremental: the weeks from the first one with a rebuilt interaction are recomputed whole.

{{ config(
    materialized='incremental', unique_key='week', incremental_strategy=replacing_strategy(),
    partition_by='week'
) }}

with

interactions as (

    select * from {{ ref('fct_interactions') }}
    where is_support and outcome <> 'pending' {{ changed_periods_filter('week') }}

),

weekly as (

    select
        cast({{ dbt.date_trunc('week', 'started_at') }} as date) as week,
        count(*) as support_interactions,
        count(*) filter (where is_deflected) as deflected,
        count(*) filter (where automation_ran or feedback = 'confirmed')
            as ai_ran_or_positive,
        count(*) filter (where is_resolved_without_ticket and coalesce(feedback, '') <> 'rejected')
            as bot_resolved,
        count(*) filter (where outcome = 'escalated' and is_automatable_intent)
            as handleable_tickets,
        count(*) filter (where outcome <> 'escalated') as not_escalated

    from interactions
    group by 1

),

definitions as (

    select
        week,
        support_interactions,
        {{ kpi_rate('strict_deflection_rate') }} as strict_deflection_rate,
        {{ kpi_rate('ai_ran_or_positive_rate') }} as ai_ran_or_positive_rate,
        {{ kpi_rate('bot_effectiveness_rate') }} as bot_effectiveness_rate,
        {{ kpi_rate('lenient_deflection_rate') }} as lenient_deflection_rate,
        deflected,
        ai_ran_or_positive,
        bot_resolved,
        handleable_tickets,
        not_escalated

    from weekly

)

select *, {{ build_stamp() }} as built_at from definitions
