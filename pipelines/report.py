"""The scheduled IT-leader report: one self-contained HTML file and a JSON summary beside it.

The report covers the last complete period before an as-of day — `week`: the ISO week (Monday to
Sunday), `month`: the calendar month — and compares it with the period before. It shows the
headline KPIs (from `pipelines.kpis`, restricted to the period), deflection by intent and by
channel, resolution speed against the pre-automation baseline, hours and cost saved, what to
automate next, and the data-quality status. Charts are plotly figures; plotly.js is inlined once,
so the file opens offline. When a Slack incoming webhook is configured, a short summary is posted.

Days are UTC calendar days, as in the marts (`started_at` and `kpi_deflection_daily.day` are
UTC); an interaction belongs to the period it *started* in. Without `--as-of`, the as-of day is
today, or the day after the latest interaction in the warehouse when that is earlier, so a
warehouse that stopped being loaded reports its last complete period, not an empty one (the last
day holding data counts as complete; the report prints when its data ends).

The SQL here is DuckDB's (`quantile_cont`, `$name` parameters): the report reads the DuckDB
warehouse directly, through a short-lived read-only connection.
"""

from __future__ import annotations

import html
import json
import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, NamedTuple

import duckdb
import httpx
import numpy as np
import plotly.graph_objects as go
from jinja2 import Environment, FileSystemLoader
from plotly.offline import get_plotlyjs

from pipelines.kpis import deflection_by, headlines
from pipelines.metrics import rate

Period = Literal["week", "month"]
PERIODS: tuple[str, ...] = ("week", "month")
TEMPLATES = Path(__file__).parent / "templates"
TOP_PRIORITIES = 10


@dataclass(frozen=True)
class Kpi:
    """How one KPI is labelled, formatted and judged (`better`: higher, lower or neutral)."""

    key: str
    label: str
    unit: str
    better: str
    headline: bool = True


def rate_kpi(key: str, headline: bool = True) -> Kpi:
    """A KPI rate as the dbt project defines it (label, and which way is better)."""
    definition = rate(key)
    return Kpi(key, definition.label, "rate", definition.better, headline)


KPIS: tuple[Kpi, ...] = (
    Kpi("interactions", "Interactions", "count", "neutral"),
    rate_kpi("strict_deflection_rate"),
    rate_kpi("auto_resolution_rate"),
    Kpi("median_minutes_to_resolution", "Median time to resolution", "minutes", "lower"),
    Kpi("hours_saved", "Employee hours saved", "hours", "higher"),
    Kpi("cost_saved_usd", "Cost saved", "usd", "higher"),
    rate_kpi("false_deflection_rate"),
    Kpi("escalations", "Escalations", "count", "lower"),
    Kpi("support_interactions", "Support interactions", "count", "neutral", headline=False),
    rate_kpi("escalation_rate", headline=False),
)


class Priorities(NamedTuple):
    """What to automate next: where the ranking came from, an honest note, and the rows."""

    source: str  # automation_model | lost_hours
    note: str
    rows: list[dict[str, Any]]


@dataclass(frozen=True)
class Report:
    """Everything the report shows, gathered from the warehouse in one go."""

    period: str
    as_of: date
    as_of_rule: str
    start: date
    end: date
    previous_start: date
    previous_end: date
    generated_at: datetime
    data_from: datetime | None
    data_through: datetime | None
    kpis: dict[str, dict[str, Any]]
    deflection_by_intent: list[dict[str, Any]]
    deflection_by_channel: list[dict[str, Any]]
    resolution_speed: list[dict[str, Any]]
    savings_by_intent: list[dict[str, Any]]
    priorities: Priorities
    data_quality: dict[str, Any]
    notes: list[str]

    @property
    def name(self) -> str:
        """File name stem, e.g. unticket-report-week-2026-W40 or unticket-report-month-2026-09."""
        return f"unticket-report-{self.period}-{_period_key(self.period, self.start)}"

    @property
    def label(self) -> str:
        """The period as a reader says it."""
        return period_label(self.period, self.start, self.end)

    @property
    def previous_label(self) -> str:
        """The previous period as a reader says it."""
        return period_label(self.period, self.previous_start, self.previous_end)


class ReportPaths(NamedTuple):
    """The files one report was written to."""

    html: Path
    json: Path


class DeliveryError(Exception):
    """Delivering the report failed; the message says why and never holds the secret URL."""


# --- periods ---------------------------------------------------------------------------------


def period_bounds(period: str, as_of: date) -> tuple[date, date]:
    """First and last day of the last complete week (ISO, Monday–Sunday) or calendar month that
    ends before `as_of`. The period before is `period_bounds(period, start)`."""
    if period == "week":
        start = as_of - timedelta(days=as_of.weekday() + 7)
        return start, start + timedelta(days=6)
    if period == "month":
        end = as_of.replace(day=1) - timedelta(days=1)
        return end.replace(day=1), end
    raise ValueError(f"period must be one of {', '.join(PERIODS)}, not {period!r}")


def period_label(period: str, start: date, end: date) -> str:
    """'Week 2026-W40 (28 Sep – 4 Oct 2026)' or 'September 2026'."""
    if period == "week":
        year, week, _ = start.isocalendar()
        return f"Week {year}-W{week:02d} ({start.day} {start:%b} – {end.day} {end:%b %Y})"
    return f"{start:%B %Y}"


def _period_key(period: str, start: date) -> str:
    """A sortable key of a period: 2026-W40 or 2026-09."""
    if period == "week":
        year, week, _ = start.isocalendar()
        return f"{year}-W{week:02d}"
    return f"{start:%Y-%m}"


def data_span(connection: duckdb.DuckDBPyConnection) -> tuple[datetime | None, datetime | None]:
    """When the first and the latest interaction in the warehouse started (UTC)."""
    return connection.execute(
        "select min(started_at), max(started_at) from marts.fct_interactions"
    ).fetchone()


def default_as_of(connection: duckdb.DuckDBPyConnection, today: date | None = None) -> date:
    """Today, or the day after the latest interaction's day when that is earlier (so a stale
    warehouse reports its last complete period rather than an empty one)."""
    today = today or datetime.now(UTC).date()
    _, latest = data_span(connection)
    return today if latest is None else min(today, latest.date() + timedelta(days=1))


# --- figures ---------------------------------------------------------------------------------


def _rows(
    connection: duckdb.DuckDBPyConnection, sql: str, parameters: dict[str, Any] | None = None
) -> list[dict[str, Any]]:
    """Run a query and return its rows as dicts (decimals as floats)."""
    cursor = connection.execute(sql, parameters or {})
    names = [column[0] for column in cursor.description or []]
    return [
        {n: float(v) if isinstance(v, Decimal) else v for n, v in zip(names, row, strict=True)}
        for row in cursor.fetchall()
    ]


def _span(start: date, end: date) -> dict[str, date]:
    """Query parameters of a period: `start` included, `stop` the day after `end`."""
    return {"start": start, "stop": end + timedelta(days=1)}


def summarise(connection: duckdb.DuckDBPyConnection, start: date, end: date) -> dict[str, Any]:
    """The headline KPIs of interactions started from `start` to `end` (both included), as
    `pipelines.kpis.headline` defines them (escalations included)."""
    return summarise_periods(connection, [(start, end)])[0]


def summarise_periods(
    connection: duckdb.DuckDBPyConnection, periods: list[tuple[date, date]]
) -> list[dict[str, Any]]:
    """`summarise` for several periods at once (one pass over the interactions)."""
    return [
        {
            "interactions": figures.interactions,
            "support_interactions": figures.support_interactions,
            "strict_deflection_rate": figures.strict_deflection_rate,
            "auto_resolution_rate": figures.auto_resolution_rate,
            "escalation_rate": figures.escalation_rate,
            "false_deflection_rate": figures.false_deflection_rate,
            "median_minutes_to_resolution": figures.median_minutes_to_resolution,
            "hours_saved": float(figures.hours_saved),
            "cost_saved_usd": float(figures.cost_saved_usd),
            "escalations": figures.escalations,
        }
        for figures in headlines(connection, periods)
    ]


def compare(current: dict[str, Any], previous: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """Each KPI with its value, the previous period's, the change (for rates a difference of
    fractions, i.e. percentage points ÷ 100) and the relative change (None without a base)."""
    compared = {}
    for kpi in KPIS:
        now, before = current.get(kpi.key), previous.get(kpi.key)
        change = None if now is None or before is None else now - before
        relative = change / before if change is not None and before else None
        compared[kpi.key] = {
            **asdict(kpi),
            "value": now,
            "previous": before,
            "change": change,
            "relative_change": relative,
        }
    return compared


SPEED_SQL = """
with
resolved as (
    select * from marts.fct_interactions
    where is_support and resolved_at is not null and outcome <> 'pending'
        and started_at >= $start and started_at < $stop
),
speed as (
    select
        grouping(intent) = 1 as is_total,
        case when grouping(intent) = 1 then 'all intents' else intent end as intent,
        count(*) as resolved_interactions,
        -- both quantiles of a column from one sort of it
        quantile_cont(seconds_to_resolution, [0.5, 0.9]) as calendar,
        quantile_cont(working_seconds_to_resolution, [0.5, 0.9]) as working,
    from resolved
    group by grouping sets ((intent), ())
    having count(*) > 0
)
select
    speed.is_total,
    speed.intent,
    speed.resolved_interactions,
    speed.calendar[1] / 3600.0 as p50_hours,
    speed.calendar[2] / 3600.0 as p90_hours,
    speed.working[1] / 3600.0 as p50_working_hours,
    speed.working[2] / 3600.0 as p90_working_hours,
    intents.baseline_working_hours,
    speed.working[1] / 3600.0 / nullif(intents.baseline_working_hours, 0)
        as p50_share_of_baseline,
    intents.baseline_source,
from speed
left join marts.dim_intents as intents
    on not speed.is_total and speed.intent = intents.intent
order by speed.is_total desc, speed.resolved_interactions desc, speed.intent
"""


def resolution_speed(
    connection: duckdb.DuckDBPyConnection, start: date, end: date
) -> list[dict[str, Any]]:
    """p50/p90 time to resolution in the period (calendar and working hours), all intents first,
    then by intent beside the intent's pre-automation baseline (working hours, a ticket)."""
    return _rows(connection, SPEED_SQL, _span(start, end))


SAVINGS_SQL = """
select
    intent,
    count(*) as interactions,
    sum(case when outcome = 'escalated' then 1 else 0 end) as escalations,
    sum(coalesce(lost_hours, 0)) as lost_hours,
    sum(hours_saved) as hours_saved,
    sum(cost_saved_usd) as cost_saved_usd,
    bool_or(is_automatable_intent) as is_automatable,
from marts.fct_interactions
where is_support and outcome <> 'pending' and started_at >= $start and started_at < $stop
group by intent
order by hours_saved desc, intent
"""


def savings_by_intent(
    connection: duckdb.DuckDBPyConnection, start: date, end: date
) -> list[dict[str, Any]]:
    """Support interactions, escalations, lost hours, hours and cost saved by intent in the
    period; the sums reconcile with the headline's hours and cost saved."""
    return _rows(connection, SAVINGS_SQL, _span(start, end))


def table_exists(connection: duckdb.DuckDBPyConnection, schema: str, table: str) -> bool:
    """Whether `schema.table` exists (tables built by later work may not yet)."""
    return bool(
        connection.execute(
            "select count(*) from information_schema.tables "
            "where table_schema = $schema and table_name = $table",
            {"schema": schema, "table": table},
        ).fetchone()[0]
    )


def automation_priorities(
    connection: duckdb.DuckDBPyConnection, savings: list[dict[str, Any]]
) -> Priorities:
    """The automation model's ranking (`marts.automation_priorities`) when it has run, else the
    period's intents ranked by lost hours (from `savings_by_intent`), labelled as such."""
    if table_exists(connection, "marts", "automation_priorities"):
        try:
            rows = _rows(
                connection,
                "select * from marts.automation_priorities order by rank limit $limit",
                {"limit": TOP_PRIORITIES},
            )
        except duckdb.Error as error:
            reason = str(error).splitlines()[0]
            note = f"marts.automation_priorities could not be read ({reason}); "
        else:
            note = "Ranked by the automation model: expected hours and cost saved per month."
            return Priorities("automation_model", note, rows)
    else:
        note = ""
    ranked = sorted(savings, key=lambda row: (-row["lost_hours"], row["intent"]))
    rows = [
        {
            "rank": rank,
            "issue_type": row["intent"],
            "lost_hours": row["lost_hours"],
            "interactions": row["interactions"],
            "escalations": row["escalations"],
            "is_automatable": row["is_automatable"],
        }
        for rank, row in enumerate(ranked[:TOP_PRIORITIES], start=1)
    ]
    note += "Ranked by lost hours in the period; the automation model has not run yet."
    return Priorities("lost_hours", note[0].upper() + note[1:], rows)


DQ_LATEST_SQL = """
with latest as (
    select run_id, max(checked_at) as checked_at from ops.dq_results
    group by run_id order by checked_at desc limit 1
)
select
    latest.run_id,
    latest.checked_at,
    count(*) filter (where results.success) as passed,
    count(*) filter (where results.success is not true and results.severity = 'warning')
        as warnings,
    count(*) filter (where results.success is not true and results.severity <> 'warning')
        as critical,
from latest
join ops.dq_results as results on results.run_id = latest.run_id
group by all
"""

DQ_FAILURES_SQL = """
select suite, expectation, severity from ops.dq_results
where run_id = $run_id and success is not true
order by severity = 'warning', suite, expectation
limit 20
"""


def data_quality(connection: duckdb.DuckDBPyConnection) -> dict[str, Any]:
    """The latest data-quality run (`ops.dq_results`): passed, warnings, critical failures and
    the failed expectations; status `none` until a run has been recorded."""
    if not table_exists(connection, "ops", "dq_results"):
        return {"status": "none", "message": "No data-quality results yet."}
    latest = _rows(connection, DQ_LATEST_SQL)
    if not latest:
        return {"status": "none", "message": "No data-quality results yet."}
    run = latest[0]
    failures = _rows(connection, DQ_FAILURES_SQL, {"run_id": run["run_id"]})
    status = "critical" if run["critical"] else "warning" if run["warnings"] else "passed"
    message = (
        f"Latest run {run['run_id']} ({run['checked_at']:%Y-%m-%d %H:%M}): {run['passed']:,} "
        f"passed, {run['warnings']:,} warnings, {run['critical']:,} critical failures."
    )
    return {"status": status, "message": message, **run, "failures": failures}


def _coverage_note(
    name: str, start: date, end: date, first: datetime | None, last: datetime | None
) -> str | None:
    """A warning when the warehouse's data does not cover a period."""
    if first is None or last is None:
        return None
    covered = f"{first.date()} – {last.date()}"
    if last.date() < start or first.date() > end:
        return f"The warehouse holds no data for the {name} ({start} – {end}); it covers {covered}."
    if first.date() > start or last.date() < end:
        return (
            f"The {name} ({start} – {end}) is only partly covered by the data ({covered}); "
            "compare with care."
        )
    return None


def build_report(
    connection: duckdb.DuckDBPyConnection,
    period: str,
    as_of: date | None = None,
    today: date | None = None,
) -> Report:
    """Gather the report of the last complete `period` before `as_of` (default:
    `default_as_of`) and its comparison with the period before."""
    if as_of is None:
        as_of = default_as_of(connection, today)
        rule = "default: today, or the day after the latest data when that is earlier"
    else:
        rule = "given"
    start, end = period_bounds(period, as_of)
    previous_start, previous_end = period_bounds(period, start)
    first, last = data_span(connection)
    notes = [] if last is not None else ["The warehouse holds no interactions yet."]
    for name, (a, b) in {
        "period": (start, end),
        "previous period": (previous_start, previous_end),
    }.items():
        note = _coverage_note(name, a, b, first, last)
        if note:
            notes.append(note)
    savings = savings_by_intent(connection, start, end)
    return Report(
        period=period,
        as_of=as_of,
        as_of_rule=rule,
        start=start,
        end=end,
        previous_start=previous_start,
        previous_end=previous_end,
        generated_at=datetime.now(UTC).replace(microsecond=0),
        data_from=first,
        data_through=last,
        kpis=compare(
            *summarise_periods(connection, [(start, end), (previous_start, previous_end)])
        ),
        deflection_by_intent=deflection_by(connection, "intent", start, end),
        deflection_by_channel=deflection_by(connection, "channel", start, end),
        resolution_speed=resolution_speed(connection, start, end),
        savings_by_intent=savings,
        priorities=automation_priorities(connection, savings),
        data_quality=data_quality(connection),
        notes=notes,
    )


# --- formatting ------------------------------------------------------------------------------


def format_value(value: Any, unit: str) -> str:
    """A value as the report prints it (rates as percentages, money in dollars, ...)."""
    if value is None:
        return "n/a"
    if unit == "count":
        return f"{int(value):,}"
    if unit in ("rate", "share"):
        return f"{value:.1%}"
    if unit == "minutes":
        return f"{value:,.1f} min" if abs(value) < 120 else f"{value / 60:,.1f} h"
    if unit == "hours":
        return f"{value:,.1f} h" if abs(value) < 100 else f"{value:,.0f} h"
    if unit == "duration":  # hours, shown in the unit that reads best
        if value < 1 / 60:
            return f"{value * 3600:.0f} s"
        return f"{value * 60:.0f} min" if value < 1 else f"{value:,.1f} h"
    if unit == "timestamp":
        return f"{value:%Y-%m-%d %H:%M} UTC"
    if unit == "usd":
        return f"{'-' if value < 0 else ''}${abs(value):,.0f}"
    if unit == "bool":
        return "yes" if value else "no"
    if unit == "number":
        return f"{value:,.2f}" if isinstance(value, float) else f"{value:,}"
    return str(value)


def format_change(kpi: dict[str, Any]) -> str:
    """A KPI's change against the previous period: '+2.1 pp', '+12 (+8%)', '-3.0 min'."""
    change, relative = kpi["change"], kpi["relative_change"]
    if change is None:
        return "n/a"
    if kpi["unit"] == "rate":
        return f"{change * 100:+.1f} pp"
    sign = "-" if change < 0 else "+"
    text = sign + format_value(abs(change), kpi["unit"])
    return text if relative is None else f"{text} ({relative:+.0%})"


def change_tone(kpi: dict[str, Any]) -> str:
    """good, bad or flat: whether the change moved the KPI the right way."""
    if not kpi["change"] or kpi["better"] == "neutral":
        return "flat"
    return "good" if (kpi["change"] > 0) == (kpi["better"] == "higher") else "bad"


def headline_rows(kpis: dict[str, dict[str, Any]]) -> list[tuple[str, str, str]]:
    """(label, value, change) of each headline KPI, for the CLI, Slack and the HTML."""
    return [
        (kpi["label"], format_value(kpi["value"], kpi["unit"]), format_change(kpi))
        for kpi in kpis.values()
        if kpi["headline"]
    ]


# --- charts ----------------------------------------------------------------------------------

# The attributes of a trace whose strings plotly draws as its HTML subset (`<a href>`, `<b>`,
# `<br>`, `<span style>`, ...): categories, bar texts, hover texts and custom data, names.
TRACE_TEXTS = ("x", "y", "text", "hovertext", "customdata", "name")


def _plain(value: Any) -> Any:
    """Strings, alone or in (nested) arrays, with `&`, `<` and `>` escaped; other values as is."""
    if isinstance(value, str):
        return html.escape(value, quote=False)
    if isinstance(value, np.ndarray) and value.dtype.kind not in "OU":
        return value  # numbers and dates
    if isinstance(value, list | tuple | np.ndarray):
        return [_plain(item) for item in value]
    return value


def _plain_axis(axis: Any) -> None:
    """An axis's categories, tick texts and title escaped."""
    axis.update(
        categoryarray=_plain(axis.categoryarray),
        ticktext=_plain(axis.ticktext),
        title_text=_plain(axis.title.text),
    )


def inert_figure(figure: go.Figure) -> go.Figure:
    """The figure with every text it draws escaped — categories, tick labels, bar and hover
    texts, custom data, legend entries, titles — so plotly shows the tags it understands
    (`<a href>` links, `<b>`, `<br>`, ...) as the characters typed when they come from the
    warehouse (employees' text is data). Hover templates are ours and keep their markup."""
    for trace in figure.data:
        trace.update({key: _plain(trace[key]) for key in TRACE_TEXTS if key in trace})
    figure.for_each_xaxis(_plain_axis)
    figure.for_each_yaxis(_plain_axis)
    return figure.update_layout(title_text=_plain(figure.layout.title.text))


def _layout(figure: go.Figure, title: str, rows: int) -> go.Figure:
    """The report's chart style: white, compact, tall enough for its rows; every text in it is
    shown as typed (`inert_figure`)."""
    figure.update_layout(
        title=title,
        template="plotly_white",
        height=max(260, 90 + 28 * rows),
        margin={"l": 10, "r": 10, "t": 50, "b": 30},
        legend={"orientation": "h", "y": -0.15},
    )
    figure.update_yaxes(automargin=True, autorange="reversed")
    return inert_figure(figure)


def deflection_chart(rows: list[dict[str, Any]], dimension: str) -> go.Figure:
    """Strict deflection rate by intent or channel, with the support interactions it is of."""
    bar = go.Bar(
        x=[row["strict_deflection_rate"] for row in rows],
        y=[row[dimension] for row in rows],
        orientation="h",
        text=[
            f"{row['strict_deflection_rate']:.0%} of {row['support_interactions']:,}"
            for row in rows
        ],
        textposition="auto",
        marker_color="#2a9d8f",
        name="strict deflection",
    )
    figure = go.Figure(bar)
    figure.update_xaxes(tickformat=".0%", range=[0, 1])
    return _layout(figure, f"Strict deflection rate by {dimension}", len(rows))


def speed_chart(rows: list[dict[str, Any]]) -> go.Figure:
    """p50 and p90 working hours to resolution by intent against the intent's baseline."""
    rows = [row for row in rows if not row["is_total"]]
    intents = [row["intent"] for row in rows]
    series = (
        ("p50_working_hours", "p50 (working h)", "#2a9d8f"),
        ("p90_working_hours", "p90 (working h)", "#8ab17d"),
        ("baseline_working_hours", "baseline, a ticket (working h)", "#e76f51"),
    )
    figure = go.Figure(
        [
            go.Bar(
                x=[row[key] for row in rows], y=intents, name=name, orientation="h", marker_color=c
            )
            for key, name, c in series
        ]
    )
    figure.update_layout(barmode="group")
    figure.update_xaxes(title="working hours to resolution")
    return _layout(figure, "Time to resolution against the baseline", 3 * len(rows))


def savings_chart(rows: list[dict[str, Any]]) -> go.Figure:
    """Employee hours saved by intent, with the cost saved on hover."""
    bar = go.Bar(
        x=[row["hours_saved"] for row in rows],
        y=[row["intent"] for row in rows],
        orientation="h",
        customdata=[format_value(row["cost_saved_usd"], "usd") for row in rows],
        hovertemplate="%{y}: %{x:,.1f} h saved, %{customdata}<extra></extra>",
        marker_color="#264653",
    )
    figure = go.Figure(bar)
    figure.update_xaxes(title="hours saved (baseline lost time − actual)")
    return _layout(figure, "Employee hours saved by intent", len(rows))


def priorities_chart(priorities: Priorities) -> go.Figure:
    """The top issue types to automate, by the measure they are ranked on."""
    key, title = (
        ("expected_hours_saved_per_month", "Expected hours saved per month if automated")
        if priorities.source == "automation_model"
        else ("lost_hours", "Lost hours in the period (not yet the automation model)")
    )
    rows = priorities.rows
    bar = go.Bar(
        x=[row.get(key) for row in rows],
        y=[str(row.get("issue_type")) for row in rows],
        orientation="h",
        marker_color="#f4a261",
    )
    return _layout(go.Figure(bar), title, len(rows))


# --- rendering and writing -------------------------------------------------------------------

DEFLECTION_COLUMNS = [
    ("support_interactions", "support interactions", "count"),
    ("deflected", "deflected (strict)", "count"),
    ("strict_deflection_rate", "strict deflection rate", "rate"),
    ("auto_resolution_rate", "auto-resolution rate", "rate"),
    ("escalated", "escalated", "count"),
    ("false_deflections", "false deflections", "count"),
]
SPEED_COLUMNS = [
    ("intent", "intent", "text"),
    ("resolved_interactions", "resolved", "count"),
    ("p50_hours", "p50", "duration"),
    ("p90_hours", "p90", "duration"),
    ("p50_working_hours", "p50, working time", "duration"),
    ("p90_working_hours", "p90, working time", "duration"),
    ("baseline_working_hours", "baseline, working time", "duration"),
    ("p50_share_of_baseline", "p50 ÷ baseline", "share"),
    ("baseline_source", "baseline from", "text"),
]
SAVINGS_COLUMNS = [
    ("intent", "intent", "text"),
    ("interactions", "support interactions", "count"),
    ("escalations", "escalations", "count"),
    ("lost_hours", "lost hours", "hours"),
    ("hours_saved", "hours saved", "hours"),
    ("cost_saved_usd", "cost saved", "usd"),
]


def _columns_of(rows: list[dict[str, Any]]) -> list[tuple[str, str, str]]:
    """Columns of rows whose shape is not known in advance (the automation model's table)."""
    units = {bool: "bool", int: "count", float: "number"}

    def unit(key: str, value: Any) -> str:
        if "cost" in key or key.endswith("_usd"):
            return "usd"
        return "hours" if "hours" in key else units.get(type(value), "text")

    first = rows[0] if rows else {}
    return [(key, key.replace("_", " "), unit(key, value)) for key, value in first.items()]


def _figure_html(figure: go.Figure, div_id: str) -> str:
    """A figure as a div that draws with the plotly.js already inlined in the page."""
    return figure.to_html(
        full_html=False,
        include_plotlyjs=False,
        div_id=div_id,
        config={"displaylogo": False, "responsive": True},
    )


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page: plotly.js inlined, no network needed."""
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    environment.filters["fmt"] = format_value
    charts = {
        "intent": (report.deflection_by_intent, lambda r: deflection_chart(r, "intent")),
        "channel": (report.deflection_by_channel, lambda r: deflection_chart(r, "channel")),
        "speed": (report.resolution_speed, speed_chart),
        "savings": (report.savings_by_intent, savings_chart),
        "priorities": (report.priorities.rows, lambda _: priorities_chart(report.priorities)),
    }
    rendered = {
        name: _figure_html(chart(rows), f"chart-{name}") if rows else None
        for name, (rows, chart) in charts.items()
    }
    return environment.get_template("report.html").render(
        report=report,
        kpis=[
            {**kpi, "shown": format_value(kpi["value"], kpi["unit"]), "delta": format_change(kpi)}
            | {"tone": change_tone(kpi), "before": format_value(kpi["previous"], kpi["unit"])}
            for kpi in report.kpis.values()
            if kpi["headline"]
        ],
        charts=rendered,
        plotly_js=get_plotlyjs(),
        deflection_columns=DEFLECTION_COLUMNS,
        speed_columns=SPEED_COLUMNS,
        savings_columns=SAVINGS_COLUMNS,
        priority_columns=_columns_of(report.priorities.rows),
    )


def _jsonable(value: Any) -> Any:
    """Dates and timestamps as ISO text, recursively."""
    if isinstance(value, dict):
        return {key: _jsonable(item) for key, item in value.items()}
    if isinstance(value, list | tuple):
        return [_jsonable(item) for item in value]
    if isinstance(value, date | datetime):
        return value.isoformat()
    return value


def report_summary(report: Report, paths: ReportPaths | None = None) -> dict[str, Any]:
    """The JSON summary: the period, every figure the report shows, and the files' names."""
    summary = asdict(report)
    summary["priorities"] = report.priorities._asdict()
    summary = {
        "report": report.name,
        "label": report.label,
        "previous_label": report.previous_label,
        **summary,
    }
    if paths is not None:
        summary["files"] = {"html": paths.html.name, "json": paths.json.name}
    return _jsonable(summary)


def _write_atomically(path: Path, text: str) -> None:
    """Write a file under a temporary name, then rename it: readers never see half a file."""
    temporary = path.with_name(f".{path.name}.tmp")
    temporary.write_text(text, encoding="utf-8")
    os.replace(temporary, path)


def write_report(report: Report, directory: Path) -> ReportPaths:
    """Write the HTML report and its JSON summary into `directory` (created if needed);
    re-running for the same period replaces them."""
    directory.mkdir(parents=True, exist_ok=True)
    paths = ReportPaths(directory / f"{report.name}.html", directory / f"{report.name}.json")
    _write_atomically(paths.html, render_html(report))
    summary = report_summary(report, paths)
    _write_atomically(paths.json, json.dumps(summary, indent=2, ensure_ascii=False) + "\n")
    return paths


# --- delivery --------------------------------------------------------------------------------


def _mrkdwn(text: str) -> str:
    """Escape the three characters Slack's mrkdwn reserves (`<url|text>` links, `<!channel>`
    and `<@user>` mentions start with `<`)."""
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _mrkdwn_text(text: str) -> dict[str, Any]:
    """A Block Kit mrkdwn text object of `text`, escaped and `verbatim`: Slack turns none of
    it into links or mentions (no bare URLs, channel names or `@here`)."""
    return {"type": "mrkdwn", "text": _mrkdwn(text), "verbatim": True}


def slack_message(summary: dict[str, Any]) -> dict[str, Any]:
    """A Block Kit message: the period, the headline KPIs with their change, data quality and
    the report's file name."""
    rows = headline_rows(summary["kpis"])
    fields = [_mrkdwn_text(f"*{label}*\n{value} · {change}") for label, value, change in rows]
    file_name = summary.get("files", {}).get("html", summary["report"] + ".html")
    context = f"Data quality: {summary['data_quality']['message']} Full report: {file_name}"
    headline_text = ", ".join(f"{label} {value}" for label, value, _ in rows[:3])
    return {
        "text": _mrkdwn(f"Unticket report, {summary['label']}: {headline_text}. {file_name}"),
        "blocks": [
            {
                "type": "header",
                "text": {
                    "type": "plain_text",
                    "text": f"Unticket report: {summary['label']}"[:150],
                },
            },
            {
                "type": "section",
                "text": _mrkdwn_text(f"Compared with {summary['previous_label']}."),
                "fields": fields[:10],
            },
            {"type": "context", "elements": [_mrkdwn_text(context)]},
        ],
    }


@contextmanager
def _quiet_httpx() -> Iterator[None]:
    """Keep httpx and httpcore from logging requests, which would carry the secret URL."""
    loggers = [logging.getLogger(name) for name in ("httpx", "httpcore")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def post_to_slack(summary: dict[str, Any], url: str, timeout: float = 10.0) -> None:
    """POST the summary to a Slack incoming webhook; raise DeliveryError with a clear message
    (never the URL, which is a secret) when Slack cannot be reached or does not accept it."""
    try:
        with _quiet_httpx():
            response = httpx.post(url, json=slack_message(summary), timeout=timeout)
    except httpx.HTTPError as error:
        reason = str(error).replace(url, "<webhook>") or type(error).__name__
        raise DeliveryError(
            f"Slack delivery failed: could not reach the webhook ({reason})"
        ) from None
    if response.status_code != 200:
        body = response.text.strip()[:200].replace(url, "<webhook>")
        raise DeliveryError(
            f"Slack delivery failed: the webhook answered HTTP {response.status_code}"
            + (f" ({body})" if body else "")
        )
