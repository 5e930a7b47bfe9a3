"""The report as one self-contained HTML page (the Jinja template in `pipelines/templates`):
plotly.js is inlined once, so the file opens offline."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import plotly.graph_objects as go
import polars as pl
import polars.selectors as cs
from jinja2 import Environment, FileSystemLoader
from plotly.offline import get_plotlyjs

import charts
from pipelines.report.build import Report
from pipelines.report.formatting import change_tone, format_change, format_value
from vocabulary import names

TEMPLATES = Path(__file__).parent.parent / "templates"

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
# The automation model's ranking: the score and the inputs a reader checks it by.
MODEL_PRIORITY_COLUMNS = [
    ("rank", "rank", "count"),
    ("issue_type", "issue type", "text"),
    ("remaining_lost_hours_per_month", "lost hours left a month", "hours"),
    ("automatability", "automatable", "share"),
    ("observed_success", "resolved now", "share"),
    ("comparable_success", "comparable intents resolve", "share"),
    ("automatable_share_of_remaining", "share still automatable", "share"),
    ("loaded_hourly_cost", "hourly cost", "usd"),
    ("expected_hours_saved_per_month", "hours saved a month", "hours"),
    ("expected_cost_saved_per_month", "cost saved a month", "usd"),
]
ASSUMPTION_COLUMNS = [
    ("intent", "intent", "text"),
    ("baseline_working_hours", "baseline, working time", "duration"),
    ("blocking_factor", "blocking factor", "share"),
    ("baseline_lost_hours", "baseline lost hours", "hours"),
    ("baseline_source", "baseline from", "text"),
    ("history_tickets", "history tickets", "count"),
    ("ticket_cost_usd", "ticket cost", "usd"),
    ("answer_confirmation_rate", "answers confirmed", "rate"),
    ("hours_saved", "hours saved (verified)", "hours"),
]
SAVINGS_COLUMNS = [
    ("intent", "intent", "text"),
    ("interactions", "support interactions", "count"),
    ("escalations", "escalations", "count"),
    ("lost_hours", "lost hours", "hours"),
    ("hours_saved", "hours saved (verified)", "hours"),
    ("cost_saved_usd", "cost saved (verified)", "usd"),
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


def _frame(rows: list[dict[str, Any]]) -> pl.DataFrame:
    """The report's rows as the DataFrame a chart takes, decimals as floats."""
    return pl.DataFrame(rows, infer_schema_length=None).with_columns(cs.decimal().cast(pl.Float64))


def _named(rows: list[dict[str, Any]], labels: dict[str, str]) -> list[dict[str, Any]]:
    """Rows as the page shows them: intents, outcomes, channels and baseline sources by their
    names (`vocabulary.names`); the JSON summary keeps the ids."""
    return names.named(_frame(rows), labels).to_dicts() if rows else rows


def _beside(report: Report, kpi: dict[str, Any]) -> str | None:
    """The figure a KPI is shown with (the expected savings beside the verified), formatted."""
    beside = report.kpis.get(kpi["beside"]) if kpi["beside"] else None
    return format_value(beside["value"], beside["unit"]) if beside else None


def render_html(report: Report) -> str:
    """The report as one self-contained HTML page: plotly.js inlined, no network needed."""
    environment = Environment(loader=FileSystemLoader(TEMPLATES), autoescape=True)
    environment.filters["fmt"] = format_value
    labels = report.intent_labels
    speed_by_intent = [row for row in report.resolution_speed if not row["is_total"]]
    priorities = report.priorities
    figures: dict[str, tuple[list[dict[str, Any]], Callable[[pl.DataFrame], go.Figure]]] = {
        "intent": (report.deflection_by_intent, lambda f: charts.deflection_chart(f, "intent")),
        "channel": (report.deflection_by_channel, lambda f: charts.deflection_chart(f, "channel")),
        "speed": (speed_by_intent, lambda f: charts.percentiles_chart(f, "intent")),
        "savings": (report.savings_by_intent, lambda f: charts.impact_chart(f, "intent")),
        "priorities": (priorities.rows, lambda f: charts.priorities_chart(f, priorities.source)),
    }
    rendered = {
        name: _figure_html(chart(names.named(_frame(rows), labels)), f"chart-{name}")
        if rows
        else None
        for name, (rows, chart) in figures.items()
    }
    return environment.get_template("report.html").render(
        report=report,
        kpis=[
            {**kpi, "shown": format_value(kpi["value"], kpi["unit"]), "delta": format_change(kpi)}
            | {"tone": change_tone(kpi), "before": format_value(kpi["previous"], kpi["unit"])}
            | {"beside_shown": _beside(report, kpi)}
            for kpi in report.kpis.values()
            if kpi["headline"]
        ],
        charts=rendered,
        shown={
            "deflection_by_intent": _named(report.deflection_by_intent, labels),
            "deflection_by_channel": _named(report.deflection_by_channel, labels),
            "resolution_speed": _named(report.resolution_speed, labels),
            "savings_by_intent": _named(report.savings_by_intent, labels),
            "baselines": _named(report.assumptions["baselines"], labels),
            "priorities": _named(priorities.rows, labels),
        },
        plotly_js=get_plotlyjs(),
        deflection_columns=DEFLECTION_COLUMNS,
        speed_columns=SPEED_COLUMNS,
        savings_columns=SAVINGS_COLUMNS,
        assumption_columns=ASSUMPTION_COLUMNS,
        priority_columns=MODEL_PRIORITY_COLUMNS
        if report.priorities.source == "automation_model"
        else _columns_of(report.priorities.rows),
    )
