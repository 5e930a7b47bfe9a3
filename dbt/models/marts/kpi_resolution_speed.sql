-- Time to resolution, p50 and p90 in calendar and working hours, by outcome, by intent and by
-- channel, with the intent's pre-automation baseline beside it.

with

resolved as (

    select * from {{ ref('fct_interactions') }}
    where is_support and resolved_at is not null

),

intents as (

    select * from {{ ref('dim_intents') }}

),

{% set dimensions = ['outcome', 'intent', 'channel'] %}
{% for dimension in dimensions %}
by_{{ dimension }} as (

    -- p50 and p90 of a column come from one sort
    select
        '{{ dimension }}' as dimension,
        {{ dimension }} as dimension_value,
        count(*) as resolved_interactions,
        {{ percentiles('seconds_to_resolution', [0.5, 0.9]) }} as calendar_seconds,
        {{ percentiles('working_seconds_to_resolution', [0.5, 0.9]) }} as working_seconds

    from resolved
    group by {{ dimension }}

),
{% endfor %}

unioned as (

    {% for dimension in dimensions %}
    select * from by_{{ dimension }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

compared as (

    select
        unioned.dimension,
        unioned.dimension_value,
        unioned.resolved_interactions,
        {{ array_item('unioned.calendar_seconds', 1) }} / 3600e0 as p50_hours,
        {{ array_item('unioned.calendar_seconds', 2) }} / 3600e0 as p90_hours,
        {{ array_item('unioned.working_seconds', 1) }} / 3600e0 as p50_working_hours,
        {{ array_item('unioned.working_seconds', 2) }} / 3600e0 as p90_working_hours,
        intents.baseline_working_hours,
        intents.baseline_source

    from unioned
    left join intents
        on unioned.dimension = 'intent' and unioned.dimension_value = intents.intent

)

select * from compared
