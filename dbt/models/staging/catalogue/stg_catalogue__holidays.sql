with

source as (

    select * from {{ source('catalogue', 'holidays') }}

),

renamed as (

    select
        location_id,
        cast(holiday as date) as holiday

    from source

)

select * from renamed
