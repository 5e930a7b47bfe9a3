with

source as (

    select * from {{ source('catalogue', 'support_costs') }}

),

renamed as (

    select
        support_tier,
        cast(cost_usd as double) as cost_usd

    from source

)

select * from renamed
