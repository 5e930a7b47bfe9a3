-- Deflection, lost time and savings by day × channel × intent × department × language. Rates
-- are over support interactions (small talk excluded) whose outcome is known (pending
-- interactions excluded). Every count and sum is additive: a period's figure is the sum of its
-- days (and of its languages, channels, ...), which is how the dashboards and the report read
-- a period without scanning the interactions.
-- Incremental: the days from the first one with a rebuilt interaction are recomputed whole.

{{ config(
    materialized='incremental', unique_key='day', incremental_strategy=replacing_strategy(),
    partition_by='day'
) }}

with

interactions as (

    select * from {{ ref('fct_interactions') }}
    where outcome <> 'pending' {{ changed_periods_filter('day') }}

),

daily as (

    select
        cast({{ dbt.date_trunc('day', 'started_at') }} as date) as day,
        channel,
        intent,
        coalesce(department, 'unknown') as department,
        language,
        count(*) as interactions,
        count(*) filter (where is_support) as support_interactions,
        count(*) filter (where is_deflected) as deflected,
        count(*) filter (where is_support and outcome = 'auto_resolved') as auto_resolved,
        count(*) filter (where is_support and outcome = 'answered') as answered,
        count(*) filter (where is_support and outcome = 'escalated') as escalated,
        count(*) filter (where is_support and outcome <> 'escalated') as not_escalated,
        count(*) filter (where is_support and outcome = 'abandoned') as abandoned,
        count(*) filter (where is_support and outcome = 'unrecognized') as unrecognized,
        count(*) filter (where is_support and is_false_deflection) as false_deflections,
        count(*) filter (where is_support and feedback = 'confirmed') as confirmed,
        count(*) filter (where is_support and feedback = 'rejected') as rejected,
        count(*) filter (where is_support and is_resolved_without_ticket) as resolved,
        count(*) filter (where is_support and has_recontact) as recontacts,
        coalesce(sum(case when is_support then lost_hours end), 0) as lost_hours,
        coalesce(sum(case when is_support then lost_hours * loaded_hourly_cost end), 0)
            as lost_cost_usd,
        coalesce(sum(case when is_support then hours_saved end), 0) as hours_saved,
        coalesce(sum(case when is_support then cost_saved_usd end), 0) as cost_saved_usd,
        coalesce(
            sum(case when is_support and baseline_source <> 'history_intent' then hours_saved end), 0
        ) as hours_saved_on_assumed_baselines,
        -- the expected range: unconfirmed answers, credited at the intent's confirmation rate
        coalesce(sum(case when is_support then unconfirmed_hours end), 0) as unconfirmed_hours,
        coalesce(sum(case when is_support then unconfirmed_cost_usd end), 0)
            as unconfirmed_cost_usd,
        count(*) filter (where is_support and outcome = 'answered' and feedback = 'confirmed')
            as answers_confirmed,
        count(*) filter (
            where is_support and was_answered and feedback in ('confirmed', 'rejected')
        ) as answers_with_feedback

    from interactions
    group by 1, 2, 3, 4, 5

),

rated as (

    select
        *,
        {{ kpi_rate('strict_deflection_rate') }} as strict_deflection_rate,
        {{ kpi_rate('lenient_deflection_rate') }} as lenient_deflection_rate,
        {{ kpi_rate('auto_resolution_rate') }} as auto_resolution_rate,
        {{ kpi_rate('answer_rate') }} as answer_rate,
        {{ kpi_rate('escalation_rate') }} as escalation_rate,
        {{ kpi_rate('abandonment_rate') }} as abandonment_rate,
        {{ kpi_rate('false_deflection_rate') }} as false_deflection_rate,
        {{ kpi_rate('confirmation_rate') }} as confirmation_rate

    from daily

)

select *, {{ build_stamp() }} as built_at from rated
