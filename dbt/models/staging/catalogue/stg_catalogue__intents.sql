with

source as (

    select * from {{ source('catalogue', 'intents') }}

),

renamed as (

    select
        intent,
        label as intent_label,
        is_support,
        is_small_talk,
        automatable as is_automatable,
        cast(blocking_factor as double) as blocking_factor,
        support_tier,
        handling,
        cast(baseline_working_hours as double) as assumed_baseline_working_hours

    from source

)

select * from renamed
