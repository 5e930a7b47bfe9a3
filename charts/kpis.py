"""The KPI figures: volume, deflection, resolution speed, productivity impact and priorities.

Each function takes a DataFrame of the figure's rows (a dashboards query's or the report's) and
returns a plotly figure; no function queries anything. Rates are fractions shown as
percentages, durations hours. Rows name intents, outcomes, channels and languages as the
reader should read them (`vocabulary.names.named`). Daily rows may say `is_partial_day`: the
day the data runs through, still incomplete: its column is marked, its bars hatched, and rate
lines leave it out.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, time, timedelta

import plotly.graph_objects as go
import polars as pl

from charts.style import COLORS, OUTCOME_COLORS, bar_height, duration_label, styled

# The four deflection definitions as drawn side by side: strict, the headline, boldest.
DEFINITION_LINES = (
    ("strict_deflection_rate", COLORS["dark"], 4),
    ("ai_ran_or_positive_rate", COLORS["primary"], 2),
    ("bot_effectiveness_rate", COLORS["secondary"], 2),
    ("lenient_deflection_rate", COLORS["muted"], 2),
)


def _partial_days(trend: pl.DataFrame) -> pl.Series:
    """Whether each day is the incomplete day the data runs through (none, when the rows do
    not say)."""
    if "is_partial_day" not in trend.columns:
        return pl.Series([False] * trend.height, dtype=pl.Boolean)
    return trend["is_partial_day"].fill_null(False)


def _mark_partial_day(figure: go.Figure, trend: pl.DataFrame, note: str) -> None:
    """Shade the partial day's column of a daily chart and say in it what it is (`note`)."""
    for day in trend.filter(_partial_days(trend))["day"]:
        start = datetime.combine(day, time()) - timedelta(hours=12)  # the day's bar is centred
        figure.add_vrect(
            x0=start,
            x1=start + timedelta(days=1),
            fillcolor=COLORS["muted"],
            opacity=0.2,
            line_width=0,
            annotation_text=note,
            annotation_position="top right",
        )


def _hatch_partial_day(figure: go.Figure, trend: pl.DataFrame) -> None:
    """Hatch the bars of the partial day and mark its column: its data is incomplete."""
    partial = _partial_days(trend)
    figure.update_traces(marker_pattern_shape=["/" if p else "" for p in partial])
    _mark_partial_day(figure, trend, "partial day: data so far")


def volume_chart(trend: pl.DataFrame) -> go.Figure:
    """Interactions per day, support interactions beside all (small talk included); the
    partial day hatched."""
    figure = go.Figure(
        [
            go.Bar(
                x=trend["day"],
                y=trend["interactions"],
                name="all interactions",
                marker_color=COLORS["muted"],
            ),
            go.Bar(
                x=trend["day"],
                y=trend["support_interactions"],
                name="support interactions",
                marker_color=COLORS["primary"],
            ),
        ]
    )
    figure.update_layout(barmode="overlay")
    _hatch_partial_day(figure, trend)
    return styled(figure, "Interactions per day")


def rates_chart(trend: pl.DataFrame, labels: Mapping[str, str]) -> go.Figure:
    """Strict deflection and auto-resolution rates per complete day, named by `labels` (rate
    → label): the partial day is left out (a rate over its first few interactions is noise),
    its column marked so."""
    series = (
        ("strict_deflection_rate", COLORS["dark"]),
        ("auto_resolution_rate", COLORS["primary"]),
    )
    complete = trend.filter(~_partial_days(trend))
    figure = go.Figure(
        [
            go.Scatter(
                x=complete["day"],
                y=complete[key],
                name=labels[key],
                mode="lines+markers",
                line={"color": color},
            )
            for key, color in series
        ]
    )
    figure.update_yaxes(tickformat=".0%", range=[0, 1])
    _mark_partial_day(figure, trend, "partial day: left out")
    return styled(figure, "Deflection (strict) and auto-resolution per day")


def savings_chart(trend: pl.DataFrame) -> go.Figure:
    """Employee hours saved per day, with the cost saved on hover; the partial day hatched."""
    bar = go.Bar(
        x=trend["day"],
        y=trend["hours_saved"],
        customdata=trend["cost_saved_usd"],
        hovertemplate="%{x}: %{y:,.1f} h saved, $%{customdata:,.0f}<extra></extra>",
        marker_color=COLORS["dark"],
        name="hours saved",
    )
    figure = go.Figure(bar)
    figure.update_yaxes(title="hours saved")
    _hatch_partial_day(figure, trend)
    return styled(figure, "Employee hours saved per day (baseline lost time − actual)")


def deflection_chart(frame: pl.DataFrame, dimension: str) -> go.Figure:
    """Strict deflection rate by intent, channel or department, with its denominator."""
    rates, support = frame["strict_deflection_rate"], frame["support_interactions"]
    bar = go.Bar(
        x=rates,
        y=frame[dimension],
        orientation="h",
        text=[f"{rate:.0%} of {n:,.0f}" for rate, n in zip(rates, support, strict=True)],
        textposition="auto",
        marker_color=COLORS["primary"],
    )
    figure = go.Figure(bar)
    figure.update_xaxes(tickformat=".0%", range=[0, 1])
    figure.update_yaxes(autorange="reversed", automargin=True)
    return styled(figure, f"Strict deflection rate by {dimension}", bar_height(frame.height))


# The rates the by-language breakdown sets side by side: strict deflection (the headline) and
# auto-resolution (what the engine resolved by itself in the employee's language).
LANGUAGE_RATES = (
    ("strict_deflection_rate", COLORS["dark"]),
    ("auto_resolution_rate", COLORS["primary"]),
)


def _rate_text(rate: float | None, support: float) -> str:
    """A rate bar's label: the rate and its denominator ("80% of 10")."""
    return f"{rate:.0%} of {support:,.0f}" if rate is not None else ""


def language_deflection_chart(frame: pl.DataFrame, labels: Mapping[str, str]) -> go.Figure:
    """Strict deflection and auto-resolution rates by language, side by side, named by
    `labels` (rate → label), each bar with its denominator (support interactions)."""
    support = frame["support_interactions"]
    figure = go.Figure(
        [
            go.Bar(
                x=frame[key],
                y=frame["language"],
                orientation="h",
                name=labels[key],
                text=[_rate_text(r, n) for r, n in zip(frame[key], support, strict=True)],
                textposition="auto",
                marker_color=color,
            )
            for key, color in LANGUAGE_RATES
        ]
    )
    figure.update_layout(barmode="group")
    figure.update_xaxes(tickformat=".0%", range=[0, 1])
    figure.update_yaxes(autorange="reversed", automargin=True)
    return styled(figure, "Deflection by language", bar_height(2 * frame.height))


def definitions_chart(frame: pl.DataFrame, labels: Mapping[str, str]) -> go.Figure:
    """The four deflection definitions by week, named by `labels` (rate → label); strict is
    drawn boldest."""
    figure = go.Figure(
        [
            go.Scatter(
                x=frame["week"],
                y=frame[key],
                name=labels[key],
                mode="lines+markers",
                line={"color": color, "width": width},
            )
            for key, color, width in DEFINITION_LINES
        ]
    )
    figure.update_yaxes(tickformat=".0%", range=[0, 1])
    figure.update_xaxes(title="week (Monday)")
    return styled(figure, "Deflection under four definitions, by week")


def false_deflection_chart(frame: pl.DataFrame) -> go.Figure:
    """False deflections and all re-contacts by intent."""
    figure = go.Figure(
        [
            go.Bar(
                y=frame["intent"],
                x=frame["false_deflections"],
                name="false deflections",
                orientation="h",
                marker_color=COLORS["alert"],
            ),
            go.Bar(
                y=frame["intent"],
                x=frame["recontacts"],
                name="re-contacts",
                orientation="h",
                marker_color=COLORS["warm"],
            ),
        ]
    )
    figure.update_layout(barmode="group")
    figure.update_yaxes(autorange="reversed", automargin=True)
    title = "False deflections and re-contacts by intent"
    return styled(figure, title, bar_height(2 * frame.height))


def distribution_chart(frame: pl.DataFrame, buckets: list[str]) -> go.Figure:
    """Resolved interactions by time-to-resolution bucket, stacked by outcome."""
    figure = go.Figure(
        [
            go.Bar(
                x=part["bucket"],
                y=part["interactions"],
                name=outcome,
                marker_color=OUTCOME_COLORS.get(outcome, COLORS["muted"]),
            )
            for (outcome,), part in frame.group_by("outcome", maintain_order=True)
        ]
    )
    figure.update_layout(barmode="stack")
    figure.update_xaxes(categoryorder="array", categoryarray=buckets, title="time to resolution")
    return styled(figure, "How long resolution took (calendar time)")


def percentiles_chart(frame: pl.DataFrame, dimension: str) -> go.Figure:
    """p50 and p90 working hours to resolution by a dimension; for intents, the baseline too
    (its source on hover, when the rows give `baseline_source`). Every bar is labelled with its
    value, so a resolution in 0 s of working time reads "0 s" where its bar has no length."""
    series = [
        ("p50_working_hours", "p50", COLORS["primary"]),
        ("p90_working_hours", "p90", COLORS["secondary"]),
    ]
    if "baseline_working_hours" in frame.columns:
        series.append(("baseline_working_hours", "baseline: a ticket, before", COLORS["alert"]))
    figure = go.Figure(
        [
            go.Bar(
                y=frame[dimension],
                x=frame[key],
                name=name,
                orientation="h",
                marker_color=color,
                text=[duration_label(hours) for hours in frame[key]],
                textposition="outside",
                cliponaxis=False,
                hovertemplate=f"%{{y}}: %{{text}} ({name})<extra></extra>",
            )
            for key, name, color in series
        ]
    )
    if "baseline_source" in frame.columns:
        figure.update_traces(
            selector={"name": "baseline: a ticket, before"},
            customdata=frame["baseline_source"],
            hovertemplate="%{y}: %{text} (baseline from %{customdata})<extra></extra>",
        )
    figure.update_layout(barmode="group")
    figure.update_xaxes(title="working hours to resolution")
    figure.update_yaxes(autorange="reversed", automargin=True)
    height = bar_height(len(series) * frame.height)
    return styled(figure, f"p50 and p90 time to resolution by {dimension}", height)


def impact_chart(frame: pl.DataFrame, dimension: str) -> go.Figure:
    """Lost hours (cost on hover) beside hours saved, by department or intent."""
    figure = go.Figure(
        [
            go.Bar(
                y=frame[dimension],
                x=frame["lost_hours"],
                name="lost hours",
                orientation="h",
                marker_color=COLORS["alert"],
                customdata=frame["lost_cost_usd"],
                hovertemplate="%{y}: %{x:,.1f} h lost, $%{customdata:,.0f}<extra></extra>",
            ),
            go.Bar(
                y=frame[dimension],
                x=frame["hours_saved"],
                name="hours saved",
                orientation="h",
                marker_color=COLORS["primary"],
                customdata=frame["cost_saved_usd"],
                hovertemplate="%{y}: %{x:,.1f} h saved, $%{customdata:,.0f}<extra></extra>",
            ),
        ]
    )
    figure.update_layout(barmode="group")
    figure.update_yaxes(autorange="reversed", automargin=True)
    title = f"Lost and saved employee hours by {dimension}"
    return styled(figure, title, bar_height(2 * frame.height))


def impact_heatmap(frame: pl.DataFrame) -> go.Figure:
    """Lost hours by department × intent."""
    matrix = frame.pivot(on="intent", index="department", values="lost_hours").fill_null(0)
    intents = [c for c in matrix.columns if c != "department"]
    heatmap = go.Heatmap(
        z=matrix.select(intents).to_numpy(),
        x=intents,
        y=matrix["department"],
        colorscale="OrRd",
        hovertemplate="%{y} × %{x}: %{z:,.1f} lost hours<extra></extra>",
    )
    figure = go.Figure(heatmap)
    figure.update_yaxes(automargin=True)
    return styled(figure, "Lost hours by department and intent", bar_height(matrix.height))


def pareto_chart(frame: pl.DataFrame, level: str) -> go.Figure:
    """The concentration curve: cumulative share of lost time against cumulative share of
    items (largest first), with the smallest share reaching 80 % marked."""
    share = frame["share_of_items_driving_80pct"][0]
    label = "tickets" if level == "ticket" else "issue types"
    curve = go.Scatter(
        x=[0.0, *frame["cumulative_share_of_items"]],
        y=[0.0, *frame["cumulative_share_of_lost_time"]],
        mode="lines",
        line={"color": COLORS["dark"], "width": 3},
        name=f"share of lost time by share of {label}",
    )
    point = go.Scatter(
        x=[share],
        y=[0.8],
        mode="markers+text",
        marker={"color": COLORS["alert"], "size": 12},
        text=[f"{share:.0%} of {label} cause 80 % of lost time"],
        textposition="bottom right",
        name="the 80 % point",
    )
    figure = go.Figure([curve, point])
    figure.add_hline(y=0.8, line_dash="dot", line_color=COLORS["alert"])
    figure.add_vline(x=share, line_dash="dot", line_color=COLORS["alert"])
    figure.update_xaxes(tickformat=".0%", range=[0, 1], title=f"share of {label}, largest first")
    figure.update_yaxes(tickformat=".0%", range=[0, 1.02], title="share of lost time")
    return styled(figure, f"Impact concentration by {label.removesuffix('s')}", 420)


def ranking_chart(frame: pl.DataFrame, value: str, label: str, title: str) -> go.Figure:
    """A ranked horizontal bar chart of `value` by `label`, largest first."""
    bar = go.Bar(
        x=frame[value],
        y=frame[label].cast(pl.String).fill_null(""),
        orientation="h",
        marker_color=COLORS["warm"],
    )
    figure = go.Figure(bar)
    figure.update_yaxes(autorange="reversed", automargin=True)
    return styled(figure, title, bar_height(frame.height))


def priorities_chart(rows: pl.DataFrame, source: str) -> go.Figure:
    """What to automate next, by the measure the ranking comes from: the automation model's
    expected hours saved per month, or (until the model has run) the period's lost hours."""
    if source == "automation_model":
        value, title = "expected_hours_saved_per_month", "Expected hours saved per month"
    else:
        value, title = "lost_hours", "Lost hours in the period (not yet the automation model)"
    return ranking_chart(rows, value, "issue_type", title)
