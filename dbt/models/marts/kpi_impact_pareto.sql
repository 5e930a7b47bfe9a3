-- Impact concentration: how few tickets (and issue types) account for most lost time. Lost
-- time of a ticket = working hours to resolve × the blocking factor of its intent (the median
-- blocking factor for unmapped categories) + the context-switch cost of a ticket.

with

tickets as (

    select * from {{ ref('fct_tickets') }}
    where working_hours_to_resolve is not null

),

intents as (

    select * from {{ ref('dim_intents') }}

),

cost_settings as (

    select * from {{ ref('stg_catalogue__cost_settings') }}

),

median_blocking as (

    select {{ percentile('blocking_factor', 0.5) }} as blocking_factor
    from intents
    where is_support

),

ticket_lost_time as (

    select
        tickets.ticket_key as item,
        case when tickets.intent = 'unmapped' then tickets.source || ':' || coalesce(tickets.category, 'none')
            else tickets.intent end as issue_type,
        tickets.working_hours_to_resolve
            * coalesce(intents.blocking_factor, median_blocking.blocking_factor)
            + cost_settings.ticket_context_switch_minutes / 60e0 as lost_hours

    from tickets
    cross join median_blocking
    cross join cost_settings
    left join intents on tickets.intent = intents.intent

),

by_issue_type as (

    select issue_type as item, sum(lost_hours) as lost_hours
    from ticket_lost_time
    group by issue_type

),

{% set levels = {'ticket': 'ticket_lost_time', 'issue_type': 'by_issue_type'} %}
ranked as (

    -- each level ranked on its own: a window partitioned by level would rank the tickets,
    -- nearly every row, in one partition on one thread
    {% for level, items in levels.items() %}
    select
        '{{ level }}' as level,
        item,
        lost_hours,
        cast(row_number() over (order by lost_hours desc, item asc) as integer) as item_rank,
        sum(lost_hours) over (
            order by lost_hours desc, item asc rows unbounded preceding
        ) as cumulative_lost_hours
    from {{ items }}
    {% if not loop.last %}union all{% endif %}
    {% endfor %}

),

totals as (

    select level, count(*) as items, sum(lost_hours) as total_lost_hours
    from ranked
    group by level

),

curve as (

    select
        ranked.level,
        ranked.item,
        ranked.lost_hours,
        ranked.item_rank,
        totals.items,
        ranked.cumulative_lost_hours,
        totals.total_lost_hours

    from ranked
    inner join totals on ranked.level = totals.level

),

shares as (

    select
        *,
        cast(item_rank as double) / items as cumulative_share_of_items,
        cumulative_lost_hours / nullif(total_lost_hours, 0) as cumulative_share_of_lost_time

    from curve

),

eighty_percent as (

    select
        level,
        min(cumulative_share_of_items) as share_of_items_driving_80pct

    from shares
    where cumulative_share_of_lost_time >= 0.8
    group by level

),

final as (

    select
        shares.*,
        eighty_percent.share_of_items_driving_80pct,
        shares.cumulative_share_of_items <= eighty_percent.share_of_items_driving_80pct
            as drives_80pct

    from shares
    left join eighty_percent on shares.level = eighty_percent.level

)

select * from final
