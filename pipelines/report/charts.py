"""The report's plotly figures, with every text they draw from the warehouse escaped."""

from __future__ import annotations

import html
from typing import Any

import numpy as np
import plotly.graph_objects as go

from pipelines.report.figures import Priorities
from pipelines.report.formatting import format_value

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
