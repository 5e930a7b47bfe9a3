"""The productivity and priorities pages: lost and saved hours, the impact concentration, and
what to automate next."""

from __future__ import annotations

from typing import Any, Literal, NamedTuple

import duckdb
import numpy as np
import polars as pl

from dashboards.queries.published import Filters, optional_mart, query, read_frame
from models.priorities import issue_type_expr
from pipelines import report

PARETO_POINTS = 400


class Productivity(NamedTuple):
    """Lost hours and cost, hours and cost saved, by department, intent and both."""

    by_department: pl.DataFrame
    by_intent: pl.DataFrame
    by_department_intent: pl.DataFrame


class SavingsBasis(NamedTuple):
    """What the period's savings rest on: the verified and expected figures, the share resting
    on assumed baselines, the hourly and self-help costs, and each intent's baseline."""

    figures: dict[str, Any]
    costs: dict[str, Any]
    baselines: pl.DataFrame


class Ranking(NamedTuple):
    """What to automate next: where the ranking comes from, a note for the reader, the rows."""

    source: Literal["automation_model", "lost_hours"]
    note: str
    rows: pl.DataFrame


IMPACT_SQL = """
select
    {dimensions},
    sum(support_interactions)::bigint as support_interactions,
    sum(lost_hours) as lost_hours,
    sum(lost_cost_usd) as lost_cost_usd,
    sum(hours_saved) as hours_saved,
    sum(cost_saved_usd) as cost_saved_usd,
from marts.kpi_deflection_daily
where day >= $start and day < $stop
group by all
having sum(support_interactions) > 0
order by lost_hours desc
"""


@query("warehouse")
def productivity(connection: duckdb.DuckDBPyConnection, filters: Filters) -> Productivity:
    """Lost hours, their cost (× each employee's loaded hourly cost), hours and cost saved,
    by department, by intent, and by both."""

    def impact_by(*dimensions: str) -> pl.DataFrame:
        columns = ", ".join(f"coalesce({d}, 'unknown') as {d}" for d in dimensions)
        return read_frame(connection, IMPACT_SQL.format(dimensions=columns), filters.span)

    return Productivity(
        impact_by("department"), impact_by("intent"), impact_by("department", "intent")
    )


SAVINGS_FIGURES = (
    "hours_saved",
    "expected_hours_saved",
    "cost_saved_usd",
    "expected_cost_saved_usd",
    "cost_saved_per_support_interaction",
    "assumed_baseline_share",
)


@query("warehouse")
def savings_basis(connection: duckdb.DuckDBPyConnection, filters: Filters) -> SavingsBasis:
    """The savings of the period as a range and what they rest on, as the report gives them
    (`pipelines.report.assumptions`)."""
    figures = report.summarise(connection, filters.start, filters.end)
    basis = report.assumptions(connection, filters.start, filters.end)
    baselines = pl.DataFrame(basis.pop("baselines"), infer_schema_length=None)
    return SavingsBasis({key: figures[key] for key in SAVINGS_FIGURES}, basis, baselines)


# Each ticket's lost time as the impact mart defines it, for the tickets opened in the period
# (of the chosen intents; with a department, channel or language chosen, only the engine's
# tickets of those interactions: imported history has none of them).
PARETO_TICKETS_SQL = """
select tickets.ticket_key, tickets.source, tickets.category, tickets.intent, lost.lost_hours
from marts.fct_tickets as tickets
inner join marts.kpi_impact_pareto as lost
    on lost.level = 'ticket' and lost.item = tickets.ticket_key
where tickets.opened_at >= $start and tickets.opened_at < $stop
    and (not $by_interaction or tickets.source = 'unticket' and tickets.ticket_id in (
        select ticket_id from marts.fct_interactions where ticket_id is not null
    ))
"""


def concentration(items: pl.DataFrame, points: int = PARETO_POINTS) -> pl.DataFrame:
    """The concentration curve of `item`s by their summed `lost_hours`: ranked largest first,
    cumulative shares of items and of lost time, and the smallest share of items reaching
    80 % of lost time; sampled to about `points` points, its ends and the 80 % point kept.
    Empty when there is no lost time to rank."""
    ranked = (
        items.group_by("item")
        .agg(pl.col("lost_hours").sum())
        .sort(["lost_hours", "item"], descending=[True, False])
    )
    hours = ranked["lost_hours"].to_numpy()
    count, total = len(hours), hours.sum()
    if not total:
        return pl.DataFrame()
    curve = ranked.with_columns(  # shares divided element by element, as the mart divides
        item_rank=pl.int_range(1, count + 1),
        cumulative_share_of_items=pl.Series(np.arange(1, count + 1) / count),
        cumulative_share_of_lost_time=pl.Series(np.cumsum(hours) / total),
        items=pl.lit(count),
    )
    reaching = curve.filter(pl.col("cumulative_share_of_lost_time") >= 0.8)
    share = reaching["cumulative_share_of_items"].min()
    rank = pl.col("item_rank")
    return curve.with_columns(
        drives_80pct=pl.col("cumulative_share_of_items") <= share,
        share_of_items_driving_80pct=pl.lit(share),
    ).filter(
        pl.lit(count <= points)
        | (rank == 1)
        | (rank == count)
        | (rank % max(1, count // points) == 0)
        | (pl.col("cumulative_share_of_items") == share)
    )


@query("warehouse")
def pareto(connection: duckdb.DuckDBPyConnection, filters: Filters, level: str) -> pl.DataFrame:
    """The impact-concentration curve of the tickets opened in the period, or of their issue
    types (the intent, else `source:category`), with the intent filter and (for the engine's
    tickets) the department, channel and language filters applied; sampled to about
    `PARETO_POINTS`."""
    if level not in ("ticket", "issue_type"):
        raise ValueError(f"level must be ticket or issue_type, not {level!r}")
    by_interaction = bool(filters.departments or filters.channels or filters.languages)
    tickets = read_frame(
        connection, PARETO_TICKETS_SQL, {**filters.span, "by_interaction": by_interaction}
    )
    item = pl.col("ticket_key") if level == "ticket" else issue_type_expr()
    return concentration(tickets.select(item.alias("item"), "lost_hours"))


@query("warehouse")
def priorities(connection: duckdb.DuckDBPyConnection, filters: Filters) -> Ranking:
    """The automation model's ranking (`marts.automation_priorities`) when it has run; until
    then the report's fallback: the period's intents ranked by lost hours."""
    ranked = optional_mart(connection, "automation_priorities")
    if ranked is not None:
        note = "Ranked by the automation model: expected hours and cost saved per month."
        return Ranking("automation_model", note, ranked.sort("rank"))
    savings = report.savings_by_intent(connection, filters.start, filters.end)
    fallback = report.automation_priorities(connection, savings)
    return Ranking("lost_hours", fallback.note, pl.DataFrame(fallback.rows))
