"""The building blocks of the Great Expectations suites: severities, tolerances, a `Check` (one
expectation) and a `Dataset` (one DuckDB query whose small frame GX validates), and the
constructors of the checks the suites use."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal

Severity = Literal["critical", "warning"]
CRITICAL: Severity = "critical"
WARNING: Severity = "warning"

PROFILE_LIMIT = 1000  # distinct values per profiled column; more than any allowed set, so an
# unknown value can never be cut off (if there are more values than allowed ones, one is unknown)


@dataclass(frozen=True)
class Thresholds:
    """Tolerances of the checks that need one (pass your own to `validate_raw`/`_marts`)."""

    clock_skew: timedelta = timedelta(minutes=5)  # an event this far ahead of now is "future"
    ticket_clock_skew: timedelta = timedelta(days=1)  # imported times may be in a local zone
    earliest_event: datetime = datetime(2000, 1, 1)  # anything older is a broken clock / epoch 0
    stale_after_hours: float = 72.0  # the newest event is older than this: ingest stalled?
    max_quarantined_share: float = 0.01  # of lines (events) or rows (latest import per source)
    reconcile_tolerance: float = 1e-9  # relative difference of a fact total and a KPI total


DEFAULT_THRESHOLDS = Thresholds()


@dataclass(frozen=True)
class Check:
    """One expectation on a dataset's frame: which GX expectation, on what, and how bad."""

    expectation: str  # a class of great_expectations.expectations, e.g. ExpectColumnMaxToBeBetween
    column: str
    severity: Severity
    description: str
    kwargs: dict[str, Any] = field(default_factory=dict)
    subset: str | None = None  # profile frames: the `field` whose rows this check covers


@dataclass(frozen=True)
class Dataset:
    """A small frame computed in DuckDB, and the checks GX runs on it."""

    suite: str
    name: str
    sql: str
    how: str  # how the frame is evaluated: shown in the Data Docs and stored with the result
    checks: tuple[Check, ...]
    parameters: dict[str, Any] = field(default_factory=dict)
    index: tuple[str, ...] = ()  # columns that name a failing row in the result's details


def at_most(column: str, limit: float, severity: Severity, description: str) -> Check:
    """The (single-row) column's value is at most `limit`; GX shows it as the observed value."""
    return Check("ExpectColumnMaxToBeBetween", column, severity, description, {"max_value": limit})


def at_least(column: str, limit: float, severity: Severity, description: str) -> Check:
    """The (single-row) column's value is at least `limit`."""
    return Check("ExpectColumnMinToBeBetween", column, severity, description, {"min_value": limit})


def each_between(
    column: str, low: float | None, high: float | None, severity: Severity, description: str
) -> Check:
    """Every row of a per-measure frame has its value within [low, high] (nulls are skipped)."""
    bounds = {"min_value": low, "max_value": high}
    return Check("ExpectColumnValuesToBeBetween", column, severity, description, bounds)


def known_values(subset: str, values: Sequence[str], severity: Severity, description: str) -> Check:
    """Every profiled value of the column `subset` is one of `values`."""
    kwargs = {"value_set": sorted(values)}
    return Check("ExpectColumnValuesToBeInSet", "value", severity, description, kwargs, subset)


def has_columns(expected: Sequence[str], description: str) -> Check:
    """The warehouse has every `table.column TYPE` of the current schema (extras are fine)."""
    kwargs = {"value_set": sorted(expected)}
    return Check(
        "ExpectColumnDistinctValuesToContainSet", "column_spec", CRITICAL, description, kwargs
    )
