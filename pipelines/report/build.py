"""Gathering the report: the period, its figures against the period before, and notes on how
far the warehouse's data covers them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import duckdb

from pipelines.kpis import deflection_by
from pipelines.report.figures import (
    Priorities,
    assumptions,
    automation_priorities,
    compare,
    data_quality,
    intent_labels,
    resolution_speed,
    savings_by_intent,
    summarise_periods,
)
from pipelines.report.periods import (
    data_span,
    default_as_of,
    period_bounds,
    period_key,
    period_label,
)


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
    assumptions: dict[str, Any]
    priorities: Priorities
    intent_labels: dict[str, str]
    data_quality: dict[str, Any]
    notes: list[str]

    @property
    def name(self) -> str:
        """File name stem, e.g. unticket-report-week-2026-W40 or unticket-report-month-2026-09."""
        return f"unticket-report-{self.period}-{period_key(self.period, self.start)}"

    @property
    def label(self) -> str:
        """The period as a reader says it."""
        return period_label(self.period, self.start, self.end)

    @property
    def previous_label(self) -> str:
        """The previous period as a reader says it."""
        return period_label(self.period, self.previous_start, self.previous_end)


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
        assumptions=assumptions(connection, start, end),
        priorities=automation_priorities(connection, savings),
        intent_labels=intent_labels(connection),
        data_quality=data_quality(connection),
        notes=notes,
    )
