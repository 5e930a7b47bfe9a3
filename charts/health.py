"""The operations figures: pipeline runs and data-quality results."""

from __future__ import annotations

import plotly.graph_objects as go
import polars as pl

from charts.style import COLORS, STATUS_COLORS, styled


def runs_chart(runs: pl.DataFrame) -> go.Figure:
    """Duration of each pipeline run over time, coloured by status."""
    figure = go.Figure(
        [
            go.Scatter(
                x=part["started_at"],
                y=part["duration_seconds"],
                mode="markers",
                name=status,
                marker={"size": 11, "color": STATUS_COLORS.get(status)},
                customdata=part["flow"],
                hovertemplate="%{customdata} at %{x}: %{y:,.1f} s<extra></extra>",
            )
            for (status,), part in runs.group_by("status", maintain_order=True)
        ]
    )
    figure.update_yaxes(title="seconds", rangemode="tozero")
    return styled(figure, "Pipeline runs: duration and status")


def quality_chart(
    results: pl.DataFrame, title: str = "Data-quality checks: expectations by suite"
) -> go.Figure:
    """Expectations of one data-quality run by suite: passed, warnings, critical; `title` says
    which run."""
    counted = (
        results.with_columns(
            pl.when(pl.col("success"))
            .then(pl.lit("passed"))
            .when(pl.col("severity") == "warning")
            .then(pl.lit("warning"))
            .otherwise(pl.lit("critical"))
            .alias("result")
        )
        .group_by("suite", "result")
        .len()
    )
    colors = {"passed": COLORS["primary"], "warning": COLORS["warm"], "critical": COLORS["alert"]}
    figure = go.Figure(
        [
            go.Bar(x=part["suite"], y=part["len"], name=result, marker_color=colors[result])
            for result in colors
            if not (part := counted.filter(pl.col("result") == result)).is_empty()
        ]
    )
    figure.update_layout(barmode="stack")
    return styled(figure, title)
