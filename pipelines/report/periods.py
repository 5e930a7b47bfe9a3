"""The report's periods: their bounds and labels, and the default as-of day.

Days are UTC calendar days, as in the marts (`started_at` and `kpi_deflection_daily.day` are
UTC); an interaction belongs to the period it *started* in. Without `--as-of`, the as-of day is
today, or the day after the latest interaction in the warehouse when that is earlier, so a
warehouse that stopped being loaded reports its last complete period, not an empty one (the last
day holding data counts as complete; the report prints when its data ends).
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from typing import Literal

import duckdb

Period = Literal["week", "month"]
PERIODS: tuple[str, ...] = ("week", "month")


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


def period_key(period: str, start: date) -> str:
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
