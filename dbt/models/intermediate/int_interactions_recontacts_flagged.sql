-- Re-contacts: the same employee starting another interaction with the same intent within the
-- re-contact window (var recontact_window_hours, default 72 h) after this one started.

with

interactions as (

    select * from {{ ref('int_interactions_summarised') }}

),

next_contacts as (

    select
        interaction_id,
        lead(started_at) over (
            partition by employee_id, intent order by started_at, interaction_id
        ) as next_same_intent_at,

    from interactions
    where employee_id is not null

),

flagged as (

    select
        interactions.interaction_id,
        next_contacts.next_same_intent_at,
        coalesce(
            {{ dbt.datediff('interactions.started_at', 'next_contacts.next_same_intent_at', 'second') }}
                <= {{ var('recontact_window_hours') }} * 3600,
            false
        ) as has_recontact,

    from interactions
    left join next_contacts on interactions.interaction_id = next_contacts.interaction_id

)

select * from flagged
