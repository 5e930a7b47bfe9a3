"""The marts suite: what analysts and dashboards read, validated after `dbt build`.

Ranges dbt already tests are not repeated: `between_zero_and_one` covers
kpi_deflection_daily.strict_deflection_rate and auto_resolution_rate and every rate of
kpi_deflection_definitions (dbt/models/marts/_marts.yml). This suite keeps the other rates and
shares, durations, whole-mart facts and the reconciliation of KPI totals with the facts.
"""

from __future__ import annotations

from collections.abc import Sequence

from pipelines.quality.checks import (
    CRITICAL,
    DEFAULT_THRESHOLDS,
    WARNING,
    Dataset,
    Thresholds,
    at_least,
    at_most,
    each_between,
)

# Rates and shares dbt does not test (`between_zero_and_one` covers the others).
RATES = {
    "kpi_deflection_daily": (
        "answer_rate",
        "escalation_rate",
        "abandonment_rate",
        "false_deflection_rate",
        "confirmation_rate",
    ),
    "kpi_impact_pareto": (
        "cumulative_share_of_items",
        "cumulative_share_of_lost_time",
        "share_of_items_driving_80pct",
    ),
    "fct_interactions": ("blocking_factor",),
    "dim_intents": ("blocking_factor",),
}

DURATIONS = {
    "fct_interactions": (
        "seconds_to_resolution",
        "working_seconds_to_resolution",
        "lost_hours",
        "baseline_lost_hours",
    ),
    "fct_tickets": ("hours_to_resolve", "working_hours_to_resolve"),
    "kpi_resolution_speed": (
        "p50_hours",
        "p90_hours",
        "p50_working_hours",
        "p90_working_hours",
        "baseline_working_hours",
    ),
    "kpi_productivity": ("lost_hours", "baseline_lost_hours"),
    "kpi_impact_pareto": ("lost_hours", "cumulative_lost_hours", "total_lost_hours"),
    "dim_intents": ("baseline_working_hours", "baseline_lost_hours"),
}


def ranges_sql(measures: dict[str, Sequence[str]]) -> str:
    """One row per `mart.column` with its min and max: one scan of each mart."""
    selects = []
    for table, columns in measures.items():
        rows = ", ".join(
            f"{{'measure': '{table}.{c}', 'min_value': min({c})::double, "
            f"'max_value': max({c})::double}}"
            for c in columns
        )
        selects.append(f"select unnest([{rows}], recursive := true) from marts.{table}")
    return "\nunion all\n".join(selects)


def mart_rates() -> Dataset:
    """Range of every rate and share in the marts that dbt does not test."""
    return Dataset(
        suite="marts",
        name="mart_rates",
        sql=ranges_sql(RATES),
        how="min and max of each rate/share column, one row per column (one aggregate per mart "
        "in DuckDB); GX checks every row",
        checks=(
            each_between("min_value", 0, None, CRITICAL, "rates and shares are >= 0"),
            # a share summed in floating point may exceed 1 by a rounding error, never more
            each_between("max_value", None, 1 + 1e-9, CRITICAL, "rates and shares are <= 1"),
        ),
        index=("measure",),
    )


def mart_durations() -> Dataset:
    """Minimum of every duration and lost-time column in the marts."""
    return Dataset(
        suite="marts",
        name="mart_durations",
        sql=ranges_sql(DURATIONS),
        how="min of each duration / lost-time column, one row per column (one aggregate per mart "
        "in DuckDB); GX checks every row",
        checks=(each_between("min_value", 0, None, CRITICAL, "durations and lost time are >= 0"),),
        index=("measure",),
    )


_RECONCILIATION_SQL = """
    with
    facts as (
        select
            count(*) as rows,
            count(*) filter (where outcome <> 'pending') as known,
            count(*) filter (where is_support and outcome <> 'pending') as support_known,
            count(*) filter (where is_deflected and outcome <> 'pending') as deflected,
            count(*) filter (where is_support) as support,
            count(*) filter (where is_support and resolved_at is not null) as support_resolved,
            sum(hours_saved) filter (where is_support) as hours_saved,
            sum(cost_saved_usd) filter (where is_support) as cost_saved,
            sum(coalesce(lost_hours, 0)) filter (where is_support) as lost_hours,
        from marts.fct_interactions
    ),
    raw_interactions as (
        select count(distinct interaction_id) as interactions from raw.events
    ),
    tickets as (
        select count(*) filter (where working_hours_to_resolve is not null) as timed
        from marts.fct_tickets
    ),
    daily as (
        select sum(interactions) as interactions, sum(support_interactions) as support,
            sum(deflected) as deflected
        from marts.kpi_deflection_daily
    ),
    weekly as (
        select sum(support_interactions) as support from marts.kpi_deflection_definitions
    ),
    productivity as (
        select sum(interactions) as interactions, sum(hours_saved) as hours_saved,
            sum(cost_saved_usd) as cost_saved, sum(lost_hours) as lost_hours
        from marts.kpi_productivity
    ),
    speed as (
        select
            sum(resolved_interactions) filter (where dimension = 'outcome') as by_outcome,
            sum(resolved_interactions) filter (where dimension = 'intent') as by_intent,
            sum(resolved_interactions) filter (where dimension = 'channel') as by_channel,
        from marts.kpi_resolution_speed
    ),
    pareto as (
        select
            max(items) filter (where level = 'ticket') as tickets,
            max(total_lost_hours) filter (where level = 'ticket') as ticket_hours,
            max(total_lost_hours) filter (where level = 'issue_type') as issue_type_hours,
            sum(lost_hours) filter (where level = 'ticket') as ticket_hours_summed,
        from marts.kpi_impact_pareto
    ),
    checks as (
        select unnest([
            {'check': 'fct_interactions rows = interactions in raw.events',
                'expected': raw_interactions.interactions, 'reported': facts.rows},
            {'check': 'kpi_deflection_daily.interactions = facts with an outcome',
                'expected': facts.known, 'reported': daily.interactions},
            {'check': 'kpi_deflection_daily.support_interactions = support facts with an outcome',
                'expected': facts.support_known, 'reported': daily.support},
            {'check': 'kpi_deflection_daily.deflected = deflected facts',
                'expected': facts.deflected, 'reported': daily.deflected},
            {'check': 'kpi_deflection_definitions.support_interactions = support facts',
                'expected': facts.support_known, 'reported': weekly.support},
            {'check': 'kpi_productivity.interactions = support facts',
                'expected': facts.support, 'reported': productivity.interactions},
            {'check': 'kpi_productivity.hours_saved = facts',
                'expected': facts.hours_saved, 'reported': productivity.hours_saved},
            {'check': 'kpi_productivity.cost_saved_usd = facts',
                'expected': facts.cost_saved, 'reported': productivity.cost_saved},
            {'check': 'kpi_productivity.lost_hours = facts',
                'expected': facts.lost_hours, 'reported': productivity.lost_hours},
            {'check': 'kpi_resolution_speed by outcome = resolved support facts',
                'expected': facts.support_resolved, 'reported': speed.by_outcome},
            {'check': 'kpi_resolution_speed by intent = resolved support facts',
                'expected': facts.support_resolved, 'reported': speed.by_intent},
            {'check': 'kpi_resolution_speed by channel = resolved support facts',
                'expected': facts.support_resolved, 'reported': speed.by_channel},
            {'check': 'kpi_impact_pareto tickets = timed fct_tickets',
                'expected': tickets.timed, 'reported': pareto.tickets},
            {'check': 'kpi_impact_pareto total = sum of its tickets',
                'expected': pareto.ticket_hours_summed, 'reported': pareto.ticket_hours},
            {'check': 'kpi_impact_pareto issue types total = tickets total',
                'expected': pareto.ticket_hours, 'reported': pareto.issue_type_hours},
        ], recursive := true)
        from facts, raw_interactions, tickets, daily, weekly, productivity, speed, pareto
    )
    select
        "check",
        coalesce(expected, 0)::double as expected,
        coalesce(reported, 0)::double as reported,
        abs(coalesce(expected, 0) - coalesce(reported, 0))
            / greatest(abs(coalesce(expected, 0)), abs(coalesce(reported, 0)), 1)::double
            as relative_difference,
    from checks
"""


def mart_reconciliation(limits: Thresholds) -> Dataset:
    """Totals that must agree between the facts (and raw events) and the KPI marts."""
    return Dataset(
        suite="marts",
        name="mart_reconciliation",
        sql=_RECONCILIATION_SQL,
        how="one row per reconciliation: the total from the facts (or raw.events) and the KPI "
        "mart's total, each one aggregate in DuckDB; GX checks their relative difference",
        checks=(
            each_between(
                "relative_difference",
                None,
                limits.reconcile_tolerance,
                CRITICAL,
                "KPI totals reconcile with the facts",
            ),
        ),
        index=("check", "expected", "reported"),
    )


_MARTS_SUMMARY_SQL = """
    select
        (select count(*) from marts.fct_interactions) as interactions,
        (
            select count(*) from marts.kpi_resolution_speed
            where p90_hours < p50_hours or p90_working_hours < p50_working_hours
        ) as p90_below_p50,
        (
            select count(*) from marts.dim_intents
            where is_support and baseline_source = 'none'
        ) as support_intents_without_baseline,
"""


def marts_summary() -> Dataset:
    """One row of whole-mart facts: not empty, percentiles ordered, baselines present."""
    return Dataset(
        suite="marts",
        name="marts_summary",
        sql=_MARTS_SUMMARY_SQL,
        how="one row of counts over the marts computed in DuckDB; GX checks the row",
        checks=(
            at_least("interactions", 1, CRITICAL, "fct_interactions is not empty"),
            at_most("p90_below_p50", 0, CRITICAL, "every p90 is at least its p50"),
            at_most(
                "support_intents_without_baseline",
                0,
                WARNING,
                "every support intent has a pre-automation baseline",
            ),
        ),
    )


def mart_datasets(limits: Thresholds = DEFAULT_THRESHOLDS) -> list[Dataset]:
    """Every dataset of the marts suite."""
    return [marts_summary(), mart_rates(), mart_durations(), mart_reconciliation(limits)]
