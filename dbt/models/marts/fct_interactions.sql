-- One row per interaction, with the outcome, the strict deflection flags, time to resolution and
-- what it cost or saved the employee. Definitions: see the column descriptions (_marts.yml).
-- Incremental: interactions whose summary, re-contact flag or timing changed are rebuilt.

{{ config(
    materialized='incremental', unique_key='interaction_id', incremental_strategy=replacing_strategy(),
    partition_by='started_on'
) }}

{% set upstreams = [
    'int_interactions_summarised', 'int_interactions_recontacts_flagged', 'int_interactions_timed'
] %}

with

{% if is_incremental() %}
changed as (

    {% for upstream in upstreams %}
    select interaction_id from {{ ref(upstream) }} where built_at > {{ watermark('built_at') }}
    {% if not loop.last %}union{% endif %}
    {% endfor %}

),
{% endif %}

{% for name, upstream in [('interactions', upstreams[0]), ('recontacts', upstreams[1]), ('timed', upstreams[2])] %}
{{ name }} as (

    select * from {{ ref(upstream) }}
    {% if is_incremental() %}
    where interaction_id in (select interaction_id from changed)
    {% endif %}

),

{% endfor %}
employees as (

    select * from {{ ref('dim_employees') }}

),

intents as (

    select * from {{ ref('dim_intents') }}

),

cost_settings as (

    select * from {{ ref('stg_catalogue__cost_settings') }}

),

self_help as (

    select cost_usd
    from {{ ref('stg_catalogue__support_costs') }}
    where support_tier = 'self_help'

),

flagged as (

    select
        interactions.interaction_id,
        interactions.employee_id,
        employees.department,
        timed.location_id,
        interactions.channel,
        -- events logged before the engine recorded a language were all English conversations
        coalesce(interactions.language, 'en') as language,
        interactions.intent,
        interactions.outcome,
        interactions.feedback,
        interactions.ticket_id,
        interactions.started_at,
        timed.resolved_at,
        interactions.closed_at,
        interactions.employee_messages,
        interactions.automation_ran,
        interactions.was_answered,
        -- an offer or notice the system sent on its own (channel proactive) becomes an
        -- interaction of the employee's only once they answer it
        coalesce(intents.is_support, true)
            and (interactions.channel <> 'proactive' or interactions.employee_messages > 0)
            as is_support,
        coalesce(intents.is_automatable, false) as is_automatable_intent,
        interactions.outcome in ('auto_resolved', 'answered') as is_resolved_without_ticket,
        coalesce(recontacts.has_recontact, false) as has_recontact,
        interactions.outcome in ('auto_resolved', 'answered')
            and coalesce(recontacts.has_recontact, false)
            as is_false_deflection,
        timed.seconds_to_resolution,
        timed.working_seconds_to_resolution,
        intents.blocking_factor,
        intents.baseline_lost_hours,
        intents.baseline_source,
        intents.ticket_cost_usd,
        coalesce(employees.loaded_hourly_cost, cost_settings.default_loaded_hourly_cost)
            as loaded_hourly_cost,
        cost_settings.ticket_context_switch_minutes

    from interactions
    cross join cost_settings
    left join recontacts on interactions.interaction_id = recontacts.interaction_id
    left join timed on interactions.interaction_id = timed.interaction_id
    left join employees on interactions.employee_id = employees.employee_id
    left join intents on interactions.intent = intents.intent

),

measured as (

    select
        *,
        is_support
            and is_resolved_without_ticket
            and coalesce(feedback, '') <> 'rejected'
            and not is_false_deflection as is_deflected,
        working_seconds_to_resolution / 3600e0 * coalesce(blocking_factor, 0)
            + case when outcome = 'escalated' then ticket_context_switch_minutes / 60e0 else 0 end
            as lost_hours

    from flagged

),

credited as (

    select
        *,
        -- a resolution the system verified (an action that succeeded) or the employee
        -- confirmed, not rejected and not followed by a re-contact
        is_deflected and (outcome = 'auto_resolved' or feedback = 'confirmed')
            as is_verified_resolution,
        -- an answer nobody confirmed or rejected, to a need the system can resolve by itself
        -- (an article cannot mend a broken device: those count only when confirmed)
        is_deflected and outcome = 'answered' and feedback is null and is_automatable_intent
            as is_unconfirmed_answer,
        -- what resolving it saved against the baseline ticket: never below 0, never more than
        -- the baseline
        greatest(least(baseline_lost_hours - lost_hours, baseline_lost_hours), 0)
            as resolution_credit_hours

    from measured

),

final as (

    select
        *,
        case when is_verified_resolution then coalesce(resolution_credit_hours, 0) else 0 end
            as hours_saved,
        case
            when is_verified_resolution
                then coalesce(resolution_credit_hours, 0) * loaded_hourly_cost
                + coalesce(ticket_cost_usd, 0) - (select self_help.cost_usd from self_help)
            else 0
        end as cost_saved_usd,
        case when is_unconfirmed_answer then coalesce(resolution_credit_hours, 0) else 0 end
            as unconfirmed_hours,
        case
            when is_unconfirmed_answer
                then coalesce(resolution_credit_hours, 0) * loaded_hourly_cost
                + coalesce(ticket_cost_usd, 0) - (select self_help.cost_usd from self_help)
            else 0
        end as unconfirmed_cost_usd,
        {{ build_stamp() }} as built_at,
        cast(started_at as date) as started_on

    from credited

)

select * from final
{{ kept_rows('interaction_id', 'started_on') }}
{% if not is_incremental() %}
-- stored in time order, so a period's queries skip the other periods' row groups (new
-- interactions, appended by incremental builds, are the newest anyway)
order by started_at
{% endif %}
