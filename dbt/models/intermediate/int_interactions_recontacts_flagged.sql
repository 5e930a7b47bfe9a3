-- Re-contacts: the same employee starting another interaction with the same intent within the
-- re-contact window (var recontact_window_hours, default 72 h) after this one started, and when.
-- Incremental: when an employee's interactions change, the flags of that employee's interactions
-- from one window before the earliest change onwards are computed again (an earlier interaction
-- cannot have a re-contact that late), and only the flags that changed are written.

{{ config(
    materialized='incremental', unique_key='interaction_id', incremental_strategy=replacing_strategy(),
    partition_by='started_on'
) }}

with

summarised as {{ inlined() }} (

    select * from {{ ref('int_interactions_summarised') }}

),

{% if is_incremental() %}
{% set changed_since = watermark('built_at') %}
changed_employees as (

    select
        employee_id,
        {{ dbt.dateadd('hour', '-' ~ var('recontact_window_hours'), 'min(started_at)') }}
            as recompute_from

    from summarised
    where built_at > {{ changed_since }}
    group by employee_id

),

interactions as (

    select summarised.*
    from summarised
    inner join changed_employees
        on summarised.employee_id = changed_employees.employee_id
        and summarised.started_at >= changed_employees.recompute_from
    union all
    select * from summarised
    where employee_id is null and built_at > {{ changed_since }}

),
{% else %}
interactions as (

    select * from summarised

),
{% endif %}

next_contacts as (

    -- one window pass, no join back: rows without an employee are their own partitions and
    -- get no next contact
    select
        interaction_id,
        started_at,
        case when employee_id is not null then
            lead(started_at) over (
                partition by employee_id, intent order by started_at, interaction_id
            )
        end as next_same_intent_at

    from interactions

),

flagged as (

    select
        interaction_id,
        started_at,
        next_same_intent_at,
        -- the window's end to the microsecond: a next contact 72 h and 0.8 s later is outside
        coalesce(
            next_same_intent_at
                <= {{ dbt.dateadd('hour', var('recontact_window_hours'), 'started_at') }},
            false
        ) as has_recontact

    from next_contacts

),

final as (

    select
        interaction_id,
        case when has_recontact then next_same_intent_at end as recontact_started_at,
        has_recontact,
        {{ build_stamp() }} as built_at,
        cast(started_at as date) as started_on

    from flagged

),

rebuilt as (

    select * from final
    {% if is_incremental() %}
    -- only new flags and flags that changed: a row left out keeps its old stamp, so the facts
    -- downstream rebuild only the interactions whose re-contact really changed
    where not exists (
        select 1 from {{ this }} as previous
        where previous.interaction_id = final.interaction_id
            and previous.has_recontact = final.has_recontact
            and previous.recontact_started_at is not distinct from final.recontact_started_at
    )
    {% endif %}

)

select * from rebuilt
{{ kept_rows('interaction_id', 'started_on', 'rebuilt') }}
