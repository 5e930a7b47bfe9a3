-- The same weeks under four definitions of deflection, side by side, so a leader can compare
-- like with like. `strict` is the headline; `lenient` is never to be presented as one.
-- Incremental: the weeks from the first one with a rebuilt interaction are recomputed whole.

{{ config(materialized='incremental', unique_key='week', incremental_strategy='delete+insert') }}

with

interactions as (

    select * from {{ ref('fct_interactions') }}
    where is_support and outcome <> 'pending' {{ changed_periods_filter('week') }}

),

weekly as (

    select
        cast({{ dbt.date_trunc('week', 'started_at') }} as date) as week,
        count(*) as support_interactions,
        sum(case when is_deflected then 1 else 0 end) as strict_deflected,
        sum(case when automation_ran or feedback = 'confirmed' then 1 else 0 end)
            as ai_ran_or_positive,
        sum(case
            when is_resolved_without_ticket and coalesce(feedback, '') <> 'rejected' then 1 else 0
        end) as bot_resolved,
        sum(case when outcome = 'escalated' and is_automatable_intent then 1 else 0 end)
            as handleable_tickets,
        sum(case when outcome <> 'escalated' then 1 else 0 end) as not_escalated

    from interactions
    group by 1

),

definitions as (

    select
        week,
        support_interactions,
        {{ safe_rate('strict_deflected', 'support_interactions') }} as strict_deflection_rate,
        {{ safe_rate('ai_ran_or_positive', 'support_interactions') }} as ai_ran_or_positive_rate,
        {{ safe_rate('bot_resolved', 'bot_resolved + handleable_tickets') }}
            as bot_effectiveness_rate,
        {{ safe_rate('not_escalated', 'support_interactions') }} as lenient_deflection_rate

    from weekly

)

select *, {{ build_stamp() }} as built_at from definitions
