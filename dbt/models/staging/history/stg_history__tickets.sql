with

source as (

    select * from {{ source('history', 'tickets') }}

),

renamed as (

    select
        source || ':' || ticket_id as ticket_key,
        source,
        ticket_id,
        opened_at,
        coalesce(resolved_at, closed_at) as resolved_at,
        state,
        priority,
        initial_priority,
        category,
        initial_category,
        subcategory,
        assignment_group,
        resolution_note,
        resolution_category,
        coalesce(reassignments, 0) as reassignments,
        coalesce(reopens, 0) as reopens

    from source

)

select * from renamed
