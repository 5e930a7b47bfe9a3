"""Automation priorities: which issue types would save the most hours (and cost) per month if
they were automated, with every input shown next to the score.

For each issue type (the intent, or `source:category` for ticket categories that map to no
intent, as in the warehouse's `kpi_impact_pareto`; the pipeline gives an unmapped ticket the
intent the ticket categoriser predicts for it when that prediction is confident):

- forecast monthly volume: the issue type's occurrences in the lookback window before `as_of`
  (default one month), as a rate per month. If the history is shorter than the window, the rate
  is taken over the part it covers. Transparent and deterministic: the latest month is the
  forecast of the next one.
- predicted lost hours per occurrence: the mean of the hours column over the issue type's
  history (observed lost hours, or an impact model's predictions), shrunk toward the mean of
  all issue types as if `prior_occurrences` (default 20) more occurrences had that mean:
  (Σ hours + 20 × overall mean) / (occurrences + 20). A mean, not a median, because volume ×
  hours per occurrence must be the expected total; shrunk, because lost hours are heavy-tailed
  and a rare issue type's few tickets say little. On the UCI log, backtests inside its training
  period (forecasting from 1 April and mid-April 2016) ranked issue types better with shrinkage
  for every volume lookback, flat from 20 to 100 prior occurrences (`bench/models_impact.py`).
- automatability: the catalogue's `is_automatable` (1 or 0) for an intent; for an unmapped
  ticket category, the share of the same category name's tickets (in any source) that map to
  automatable intents; otherwise `default_automatability` (documented assumption, 0.25).
- expected hours saved per month = volume × hours per occurrence × automatability, and the cost
  = hours × the loaded hourly cost (default: the catalogue's `default_loaded_hourly_cost`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import polars as pl

from catalogue import Catalogue

MONTH_DAYS = 365.25 / 12
UNMAPPED = "unmapped"
# Share of an unknown ticket category assumed automatable when nothing in the data says more:
# a conservative assumption (a quarter), shown as automatability_source = "default".
DEFAULT_AUTOMATABILITY = 0.25
# Occurrences at the overall mean that an issue type's hours per occurrence is shrunk with.
PRIOR_OCCURRENCES = 20.0
PRIORITY_COLUMNS = (
    "rank",
    "issue_type",
    "occurrences",
    "volume_in_lookback",
    "lookback_days",
    "forecast_monthly_volume",
    "predicted_lost_hours_per_occurrence",
    "automatability",
    "automatability_source",
    "loaded_hourly_cost",
    "expected_hours_saved_per_month",
    "expected_cost_saved_per_month",
)


@dataclass(frozen=True)
class WhatIf:
    """Projected monthly savings if `automation_rate` of an issue type's occurrences were
    automated."""

    issue_type: str
    automation_rate: float
    hours_saved_per_month: float
    cost_saved_per_month: float


def _require(frame: pl.DataFrame, columns: tuple[str, ...], what: str) -> None:
    """Fail with a clear message when a frame is empty or lacks columns."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing columns {missing}; it has {frame.columns}")
    if frame.is_empty():
        raise ValueError(f"{what} has no rows")


def issue_type_expr(
    intent: str = "intent", source: str = "source", category: str = "category"
) -> pl.Expr:
    """The issue type: the intent, or `source:category` ('none' for a null category) when the
    intent is null or 'unmapped'."""
    unmapped = pl.col(intent).is_null() | (pl.col(intent) == UNMAPPED)
    by_category = pl.format("{}:{}", pl.col(source), pl.col(category).fill_null("none"))
    return pl.when(unmapped).then(by_category).otherwise(pl.col(intent)).alias("issue_type")


def default_loaded_hourly_cost(catalogue: Catalogue) -> float:
    """The loaded hourly cost of an employee when the roster has none (costs.yml)."""
    return float(catalogue.costs["default_loaded_hourly_cost"])


def intents_frame(catalogue: Catalogue) -> pl.DataFrame:
    """The catalogue's intents with `is_automatable`, shaped like the warehouse's dim_intents."""
    rows = [{"intent": i.id, "is_automatable": i.automatable} for i in catalogue.intents.values()]
    return pl.DataFrame(rows, schema={"intent": pl.String, "is_automatable": pl.Boolean})


def forecast_monthly_volume(
    occurrences: pl.DataFrame,
    as_of: datetime,
    lookback_days: float = MONTH_DAYS,
    opened_at: str = "opened_at",
) -> pl.DataFrame:
    """Per issue type: occurrences in the history before `as_of`, those in the lookback window
    [as_of − lookback_days, as_of), the days of it the history covers, and the forecast monthly
    volume = volume in the window / covered days × days per month."""
    history = _history(occurrences, as_of, opened_at)
    start = as_of - timedelta(days=lookback_days)
    covered = (as_of - max(start, history[opened_at].min())).total_seconds() / 86_400
    return (
        history.group_by("issue_type")
        .agg(
            pl.len().alias("occurrences"),
            (pl.col(opened_at) >= start).sum().alias("volume_in_lookback"),
        )
        .with_columns(
            pl.lit(covered).alias("lookback_days"),
            (pl.col("volume_in_lookback") * MONTH_DAYS / covered).alias("forecast_monthly_volume"),
        )
        .sort("issue_type")
    )


def _history(occurrences: pl.DataFrame, as_of: datetime, opened_at: str) -> pl.DataFrame:
    """The occurrences opened before `as_of`; fail if there are none."""
    _require(occurrences, ("issue_type", opened_at), "the occurrences")
    history = occurrences.filter(pl.col(opened_at) < as_of)
    if history.is_empty():
        raise ValueError(f"no occurrence opened before {as_of:%Y-%m-%d %H:%M}")
    return history


def hours_per_occurrence(
    occurrences: pl.DataFrame,
    as_of: datetime,
    hours: str,
    opened_at: str = "opened_at",
    prior_occurrences: float = PRIOR_OCCURRENCES,
) -> pl.DataFrame:
    """Per issue type: the mean of `hours` over its history before `as_of`, shrunk toward the
    mean of all occurrences as if `prior_occurrences` more had that mean (0: the plain mean).
    Rows with null hours are left out; an issue type with none gets the overall mean."""
    history = _history(occurrences, as_of, opened_at)
    if hours not in history.columns:
        raise ValueError(f"the occurrences are missing the hours column {hours!r}")
    if prior_occurrences < 0:
        raise ValueError(f"prior_occurrences must not be negative, got {prior_occurrences}")
    overall = history[hours].mean()
    if overall is None:
        raise ValueError(f"no occurrence before {as_of:%Y-%m-%d} has {hours}")
    shrunk = (pl.col(hours).sum() + prior_occurrences * overall) / (
        pl.col(hours).count() + prior_occurrences
    )
    return history.group_by("issue_type").agg(
        shrunk.fill_nan(overall).alias("predicted_lost_hours_per_occurrence")
    )


def automatability(
    occurrences: pl.DataFrame,
    intents: pl.DataFrame,
    default: float = DEFAULT_AUTOMATABILITY,
    intent: str = "intent",
    category: str = "category",
) -> pl.DataFrame:
    """Per issue type of the occurrences: its automatability (0..1) and where it comes from
    ('catalogue', 'category_share' or 'default'), as described in the module docstring."""
    _require(occurrences, ("issue_type", intent, category), "the occurrences")
    _require(intents, ("intent", "is_automatable"), "the intents")
    flags = intents.select("intent", pl.col("is_automatable").cast(pl.Float64).alias("_flag"))
    rows = occurrences.select("issue_type", pl.col(intent).alias("intent"), category).join(
        flags, on="intent", how="left"
    )
    shares = (
        rows.filter(pl.col("_flag").is_not_null())
        .group_by(category)
        .agg(pl.col("_flag").mean().alias("_share"))
    )
    per_type = (
        rows.join(shares, on=category, how="left")
        .group_by("issue_type")
        .agg(pl.col("_flag").first(), pl.col("_share").mean())
    )
    source = (
        pl.when(pl.col("_flag").is_not_null())
        .then(pl.lit("catalogue"))
        .when(pl.col("_share").is_not_null())
        .then(pl.lit("category_share"))
        .otherwise(pl.lit("default"))
    )
    return per_type.select(
        "issue_type",
        pl.coalesce("_flag", "_share", pl.lit(default)).alias("automatability"),
        source.alias("automatability_source"),
    )


def automation_priorities(
    occurrences: pl.DataFrame,
    intents: pl.DataFrame,
    *,
    as_of: datetime,
    loaded_hourly_cost: float,
    hours: str = "lost_hours",
    lookback_days: float = MONTH_DAYS,
    default_automatability: float = DEFAULT_AUTOMATABILITY,
    opened_at: str = "opened_at",
    prior_occurrences: float = PRIOR_OCCURRENCES,
) -> pl.DataFrame:
    """Rank issue types by expected hours saved per month if automated, from occurrences with
    `issue_type` (see `issue_type_expr`), `intent`, `category`, `opened_at` and `hours`; every
    input of the score is a column (see PRIORITY_COLUMNS). Rank 1 saves the most; ties are
    broken by issue type."""
    volume = forecast_monthly_volume(occurrences, as_of, lookback_days, opened_at)
    per_occurrence = hours_per_occurrence(occurrences, as_of, hours, opened_at, prior_occurrences)
    history = occurrences.filter(pl.col(opened_at) < as_of)
    automatable = automatability(history, intents, default_automatability)
    saved = (
        pl.col("forecast_monthly_volume")
        * pl.col("predicted_lost_hours_per_occurrence")
        * pl.col("automatability")
    )
    return (
        volume.join(per_occurrence, on="issue_type")
        .join(automatable, on="issue_type")
        .with_columns(
            pl.lit(float(loaded_hourly_cost)).alias("loaded_hourly_cost"),
            saved.alias("expected_hours_saved_per_month"),
        )
        .with_columns(
            (pl.col("expected_hours_saved_per_month") * pl.col("loaded_hourly_cost")).alias(
                "expected_cost_saved_per_month"
            )
        )
        .sort(["expected_hours_saved_per_month", "issue_type"], descending=[True, False])
        .with_row_index("rank", offset=1)
        .select(PRIORITY_COLUMNS)
    )


def what_if(
    priorities: pl.DataFrame | Mapping[str, Any], issue_type: str, automation_rate: float
) -> WhatIf:
    """Monthly hours and cost saved if `automation_rate` (0..1) of an issue type's forecast
    volume were automated: volume × hours per occurrence × rate, and × the loaded hourly cost.
    Takes the priorities frame or one row of it (a mapping)."""
    if not 0.0 <= automation_rate <= 1.0:
        raise ValueError(f"automation_rate must be between 0 and 1, got {automation_rate}")
    row = _priority_row(priorities, issue_type)
    hours = (
        float(row["forecast_monthly_volume"])
        * float(row["predicted_lost_hours_per_occurrence"])
        * automation_rate
    )
    return WhatIf(issue_type, automation_rate, hours, hours * float(row["loaded_hourly_cost"]))


def _priority_row(priorities: pl.DataFrame | Mapping[str, Any], issue_type: str) -> Mapping:
    """The priorities row of one issue type; fail clearly if it is not there."""
    if isinstance(priorities, pl.DataFrame):
        rows = priorities.filter(pl.col("issue_type") == issue_type).to_dicts()
        if not rows:
            raise ValueError(f"issue type {issue_type!r} is not in the priorities")
        return rows[0]
    if priorities.get("issue_type") != issue_type:
        raise ValueError(f"the row is for {priorities.get('issue_type')!r}, not {issue_type!r}")
    return priorities
