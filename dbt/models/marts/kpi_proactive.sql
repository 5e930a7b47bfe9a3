-- Acting before anyone asks, by week: account lock-outs unlocked before the employee reported
-- them, outage notices sent, and the tickets that never existed because reports were linked to
-- one major incident instead of opening a ticket each.
-- Incremental: the weeks from the first one with a rebuilt interaction are recomputed whole.

{{ config(
    materialized='incremental', unique_key='week', incremental_strategy=replacing_strategy(),
    partition_by='week'
) }}

with

interactions as (

    select * from {{ ref('fct_interactions') }}
    where outcome <> 'pending' {{ changed_periods_filter('week') }}

),

incidents as (

    -- major incidents: opened for an outage, not in an interaction of their own
    select ticket_id from {{ ref('fct_tickets') }}
    where source = 'unticket' and category = 'linked_to_incident'

),

flagged as (

    select
        cast({{ dbt.date_trunc('week', 'started_at') }} as date) as week,
        channel = 'proactive' as is_proactive,
        intent = 'account_unlock' as is_unlock,
        outcome,
        ticket_id,
        ticket_id in (select incidents.ticket_id from incidents) as is_linked_to_incident

    from interactions

),

weekly as (

    select
        week,
        count(*) filter (where is_proactive and is_unlock) as unlock_offers,
        count(*) filter (where is_proactive and is_unlock and outcome = 'auto_resolved')
            as resolved_before_reported,
        count(*) filter (where not is_proactive and is_unlock) as unlock_requests,
        count(*) filter (where is_proactive and not is_unlock) as outage_notices,
        count(*) filter (where not is_proactive and is_linked_to_incident)
            as reports_linked_to_incidents,
        count(distinct case when is_linked_to_incident then ticket_id end) as incidents

    from flagged
    group by week

),

final as (

    select
        *,
        {{ safe_rate('resolved_before_reported', 'resolved_before_reported + unlock_requests') }}
            as share_of_unlocks_before_reported,
        greatest(reports_linked_to_incidents - incidents, 0) as tickets_avoided,
        {{ build_stamp() }} as built_at

    from weekly

)

select * from final
