with

intents as (

    select * from {{ ref('stg_catalogue__intents') }}

),

baselines as (

    select * from {{ ref('int_intent_baselines') }}

),

support_costs as (

    select * from {{ ref('stg_catalogue__support_costs') }}

),

cost_settings as (

    select * from {{ ref('stg_catalogue__cost_settings') }}

),

final as (

    select
        intents.intent,
        intents.intent_label,
        intents.is_support,
        intents.is_small_talk,
        intents.is_automatable,
        intents.blocking_factor,
        intents.support_tier,
        support_costs.cost_usd as ticket_cost_usd,
        baselines.history_tickets,
        baselines.baseline_working_hours,
        baselines.baseline_source,
        baselines.baseline_working_hours * intents.blocking_factor
            + cost_settings.ticket_context_switch_minutes / 60e0 as baseline_lost_hours

    from intents
    cross join cost_settings
    left join baselines on intents.intent = baselines.intent
    left join support_costs on intents.support_tier = support_costs.support_tier

)

select * from final
