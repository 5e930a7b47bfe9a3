-- What each knowledge article deflects, by day × article: the interactions it answered (a
-- knowledge_answered event named it), what their employees said, how many still ended
-- escalated, and how many it deflected (fct_interactions.is_deflected, the one definition of
-- strict deflection). Learned articles (approved drafts, `learned-<slug>`) carry when they were
-- approved (their article_approved event), so their answers can be set beside the escalations
-- of the weeks before. Counts are additive over days.
-- A table rebuilt whole: an approval changes every row of its article.

with

answers as (

    select distinct
        interaction_id,
        article_id
    from {{ ref('stg_unticket__events') }}
    where event_type = 'knowledge_answered' and article_id is not null

),

approvals as (

    select
        article_id,
        min(occurred_at) as approved_at
    from {{ ref('stg_unticket__events') }}
    where event_type = 'article_approved' and article_id is not null
    group by article_id

),

interactions as (

    select * from {{ ref('fct_interactions') }}
    where outcome <> 'pending'

),

answered as (

    select
        cast({{ dbt.date_trunc('day', 'interactions.started_at') }} as date) as day,
        answers.article_id,
        interactions.outcome,
        interactions.feedback,
        interactions.is_deflected
    from answers
    inner join interactions on answers.interaction_id = interactions.interaction_id

),

daily as (

    select
        day,
        article_id,
        count(*) as answered,
        count(*) filter (where feedback = 'confirmed') as confirmed,
        count(*) filter (where feedback = 'rejected') as rejected,
        count(*) filter (where outcome = 'escalated') as escalated_after,
        count(*) filter (where is_deflected) as deflected
    from answered
    group by day, article_id

),

final as (

    select
        daily.day,
        daily.article_id,
        daily.answered,
        daily.confirmed,
        daily.rejected,
        daily.escalated_after,
        daily.deflected,
        daily.article_id like 'learned-%' as is_learned,
        approvals.approved_at,
        cast(
            {{ dbt.datediff('cast(approvals.approved_at as date)', 'daily.day', 'day') }} as integer
        ) as days_since_approval
    from daily
    left join approvals on daily.article_id = approvals.article_id

)

select * from final
