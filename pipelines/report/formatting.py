"""How the report prints values and their change (the CLI, Slack, the HTML and the dashboards
share it)."""

from __future__ import annotations

from typing import Any


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
    """(label, value, change) of each headline KPI, for the CLI and Slack; a figure shown
    beside another (the expected savings) follows its value."""
    return [
        (kpi["label"], _value_and_beside(kpi, kpis), format_change(kpi))
        for kpi in kpis.values()
        if kpi["headline"]
    ]


def _value_and_beside(kpi: dict[str, Any], kpis: dict[str, dict[str, Any]]) -> str:
    """A KPI's value, with the figure shown beside it when it has one: '7,310 h (expected
    7,812 h)'."""
    value = format_value(kpi["value"], kpi["unit"])
    beside = kpis.get(kpi["beside"]) if kpi.get("beside") else None
    if beside is None:
        return value
    return f"{value} (expected {format_value(beside['value'], beside['unit'])})"
