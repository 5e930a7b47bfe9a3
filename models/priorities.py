"""Automation priorities: the opportunity that is left. Per issue type, the hours (and cost) a
month that automating what is still left of it would save, with every input of the score shown
next to it.

An issue type is the intent, or `source:category` for ticket categories that map to no intent,
as in the warehouse's `kpi_impact_pareto` (the pipeline gives an unmapped ticket the intent the
ticket categoriser predicts for it when that prediction is confident). Two frames feed it:

- `requests`: every request, deflected or not: the engine's support interactions with a known
  outcome (`is_interaction`, with the strict `is_deflected` flag and the requester's
  `loaded_hourly_cost` from the roster) and every imported ticket (never deflected, no cost);
- `occurrences`: the requests that cost someone time and whose lost hours were measured (the
  engine's interactions that were not deflected and ended, imported tickets that were
  resolved), with their lost hours. It is the frame the impact model learns from.

For each issue type:

- what is left (`remaining_occurrences`): its requests that were not deflected (escalations,
  unrecognised and abandoned requests, false deflections, rejected answers) and its imported
  tickets when no playbook handles its intent. An imported ticket of an intent a playbook
  handles is the engine's to resolve now: what the engine leaves of that need shows in its
  interactions, so the ticket is not counted again.
- forecast monthly volume: what is left in the lookback window before `as_of` (default one
  month), as a rate per month; over the part of the window the history covers when it is
  shorter. The latest month is the forecast of the next one.
- predicted lost hours per occurrence: the mean of the measured lost hours of its occurrences,
  shrunk toward the mean of all occurrences as if `prior_occurrences` (default 20) more had that
  mean: (Σ hours + 20 × overall mean) / (occurrences + 20). A mean, because volume × hours
  per occurrence must be the expected total; shrunk, because lost hours are heavy-tailed and a
  rare issue type's few tickets say little. An abandoned or unrecognised request has no measured
  lost time: it counts at this mean. On the UCI log, backtests inside its training period chose
  the one-month lookback and the shrinkage (`bench/models_impact.py`). Scored on later months of
  three real ticket histories (`bench/models_priorities.py`: Spearman correlation with the next
  month's lost hours per issue type, 10 monthly origins), the ranking averages 0.51, against
  0.46 for ranking by last month's lost hours.
- remaining lost hours per month = forecast monthly volume × predicted lost hours per occurrence.
- automatability: the catalogue's `automatable` (1 or 0) for an intent; for an unmapped ticket
  category, the share of the same category name's tickets (in any source) that map to
  automatable intents; otherwise `default_automatability` (documented assumption, 0.25).
- observed success: the share of its requests to the engine in the lookback window that the
  engine deflected (strict: resolved without a ticket, not rejected, not re-contacted); null when
  the engine saw none (`observed_requests` = 0).
- comparable success: the observed success, pooled over their requests, of the comparable
  automated intents (catalogue-automatable intents other than the issue type's own that the
  engine saw): those with the same handling kind (playbook, knowledge search), else the same
  support tier, else all of them; `ASSUMED_SUCCESS` when the engine has automated nothing yet.
  `comparable_basis` says which. It is where the what-if starts.
- automatable share of what is left = max(0, automatability × comparable success − observed
  success) ÷ (1 − observed success): the requests automation would resolve beyond those the
  engine resolves already, as a share of those it does not. An intent the engine already
  resolves as well as comparable automated intents has nothing left to gain.
- expected hours saved per month = remaining lost hours per month × that share, and the cost =
  those hours × the loaded hourly cost: the mean of the roster's loaded hourly cost
  (fct_interactions.loaded_hourly_cost) over the issue type's requests in the lookback window,
  else the catalogue's default (`default_loaded_hourly_cost`) — the figure the savings use.
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
# Share of its requests automation is assumed to resolve while the engine has automated nothing
# to compare with: a documented assumption, shown as comparable_basis = "assumed".
ASSUMED_SUCCESS = 0.5
# Occurrences at the overall mean that an issue type's hours per occurrence is shrunk with.
PRIOR_OCCURRENCES = 20.0
REQUEST_COLUMNS = ("issue_type", "intent", "category", "is_interaction", "is_deflected")
INTENT_SCHEMA = {
    "intent": pl.String,
    "is_automatable": pl.Boolean,
    "handling_kind": pl.String,
    "support_tier": pl.String,
    "has_playbook": pl.Boolean,
}
PRIORITY_COLUMNS = (
    "rank",
    "issue_type",
    "remaining_occurrences",
    "remaining_in_lookback",
    "lookback_days",
    "forecast_monthly_volume",
    "predicted_lost_hours_per_occurrence",
    "remaining_lost_hours_per_month",
    "automatability",
    "automatability_source",
    "observed_requests",
    "observed_success",
    "comparable_success",
    "comparable_basis",
    "automatable_share_of_remaining",
    "loaded_hourly_cost",
    "expected_hours_saved_per_month",
    "expected_cost_saved_per_month",
)


@dataclass(frozen=True)
class WhatIf:
    """Projected monthly savings if automation resolved `automation_rate` of an issue type's
    requests."""

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
    """The catalogue's intents: `is_automatable`, `handling_kind` (playbook, article,
    knowledge_search, ...), `support_tier` and `has_playbook`."""
    rows = [
        {
            "intent": i.id,
            "is_automatable": i.automatable,
            "handling_kind": i.handling_kind,
            "support_tier": i.support_tier,
            "has_playbook": i.playbook_id is not None,
        }
        for i in catalogue.intents.values()
    ]
    return pl.DataFrame(rows, schema=INTENT_SCHEMA)


def history_requests(tickets: pl.DataFrame) -> pl.DataFrame:
    """Imported tickets as requests: none is an interaction with the engine, none was deflected
    and none has a requester's hourly cost."""
    return tickets.with_columns(
        pl.lit(False).alias("is_interaction"),
        pl.lit(False).alias("is_deflected"),
        pl.lit(None, pl.Float64).alias("loaded_hourly_cost"),
    )


def forecast_monthly_volume(
    occurrences: pl.DataFrame,
    as_of: datetime,
    lookback_days: float = MONTH_DAYS,
    opened_at: str = "opened_at",
    counted: pl.Expr | None = None,
) -> pl.DataFrame:
    """Per issue type: the rows before `as_of` that `counted` selects (default: all), those in
    the lookback window [as_of − lookback_days, as_of), the days of it the history (all rows)
    covers, and the forecast monthly volume = volume in the window / covered days × days per
    month."""
    history = _history(occurrences, as_of, opened_at)
    start = as_of - timedelta(days=lookback_days)
    covered = (as_of - max(start, history[opened_at].min())).total_seconds() / 86_400
    selected = pl.lit(True) if counted is None else counted
    counts = pl.col("_counted")
    return (
        history.with_columns(selected.alias("_counted"))
        .group_by("issue_type")
        .agg(
            counts.sum().cast(pl.UInt32).alias("occurrences"),
            (counts & (pl.col(opened_at) >= start)).sum().cast(pl.UInt32).alias("in_lookback"),
        )
        .with_columns(
            pl.lit(covered).alias("lookback_days"),
            (pl.col("in_lookback") * MONTH_DAYS / covered).alias("forecast_monthly_volume"),
        )
        .sort("issue_type")
    )


def _history(occurrences: pl.DataFrame, as_of: datetime, opened_at: str) -> pl.DataFrame:
    """The rows opened before `as_of`; fail if there are none."""
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


def is_left_expr(intents: pl.DataFrame) -> pl.Expr:
    """Whether a request is part of what is left: not deflected, and not an imported ticket of
    an intent a playbook handles (the engine's to resolve now)."""
    with_playbook = intents.filter("has_playbook")["intent"].implode()
    covered = ~pl.col("is_interaction") & pl.col("intent").is_in(with_playbook)
    return ~pl.col("is_deflected") & ~covered.fill_null(False)


def observed_success_and_cost(
    requests: pl.DataFrame,
    as_of: datetime,
    default_hourly_cost: float,
    lookback_days: float = MONTH_DAYS,
    opened_at: str = "opened_at",
) -> pl.DataFrame:
    """Per issue type, over its requests in the lookback window before `as_of`: how many the
    engine saw (`observed_requests`), how many of those it deflected (`deflected`), the share
    (`observed_success`, null when it saw none), and the mean of their requesters' loaded hourly
    cost (`default_hourly_cost` when none has one)."""
    start = as_of - timedelta(days=lookback_days)
    window = requests.filter((pl.col(opened_at) >= start) & (pl.col(opened_at) < as_of))
    engine = pl.col("is_interaction")
    return window.group_by("issue_type").agg(
        engine.sum().cast(pl.UInt32).alias("observed_requests"),
        (engine & pl.col("is_deflected")).sum().cast(pl.UInt32).alias("deflected"),
        pl.col("is_deflected").filter(engine).mean().alias("observed_success"),
        pl.col("loaded_hourly_cost").mean().fill_null(default_hourly_cost),
    )


def comparable_success(types: pl.DataFrame, intents: pl.DataFrame) -> pl.DataFrame:
    """Per issue type of `types` (with `observed_requests` and `deflected`, as
    `observed_success_and_cost` gives them): the pooled observed success of the comparable
    automated intents — catalogue-automatable intents the engine saw, other than the issue
    type's own — with the same handling kind, else the same support tier, else all of them,
    else `ASSUMED_SUCCESS`; and `comparable_basis` naming which ('handling:<kind>',
    'tier:<tier>', 'all automated' or 'assumed')."""
    _require(intents, tuple(INTENT_SCHEMA), "the intents")
    automated = pl.col("is_automatable").fill_null(False)
    rows = (
        types.select("issue_type", "observed_requests", "deflected")
        .join(intents, left_on="issue_type", right_on="intent", how="left")
        .with_columns(
            pl.when(automated).then("observed_requests").otherwise(0).alias("_own_requests"),
            pl.when(automated).then("deflected").otherwise(0).alias("_own_deflected"),
            pl.lit("all").alias("_all"),
        )
    )
    success, basis = pl.lit(ASSUMED_SUCCESS), pl.lit("assumed")
    # widest pool first: each narrower one that has requests takes precedence
    for key, name in (
        ("_all", pl.lit("all automated")),
        ("support_tier", pl.format("tier:{}", "support_tier")),
        ("handling_kind", pl.format("handling:{}", "handling_kind")),
    ):
        pooled = _sum_of_others("_own_deflected", key) / _sum_of_others("_own_requests", key)
        found = pl.col(key).is_not_null() & pooled.is_finite()
        success = pl.when(found).then(pooled).otherwise(success)
        basis = pl.when(found).then(name).otherwise(basis)
    return rows.select(
        "issue_type", success.alias("comparable_success"), basis.alias("comparable_basis")
    )


def _sum_of_others(column: str, key: str) -> pl.Expr:
    """The sum of `column` over the other rows with the same `key`."""
    return pl.col(column).sum().over(key) - pl.col(column)


def automatable_share(rate: pl.Expr, observed_success: pl.Expr) -> pl.Expr:
    """The share of what is left of an issue type that automation resolving `rate` of its
    requests would resolve, when the engine already resolves `observed_success` (null: none):
    max(0, rate − observed) ÷ (1 − observed); 0 when the engine leaves nothing."""
    seen = observed_success.fill_null(0.0)
    gain = ((rate - seen) / (1.0 - seen)).clip(lower_bound=0.0)
    return pl.when(seen < 1.0).then(gain).otherwise(0.0)


def automation_priorities(
    occurrences: pl.DataFrame,
    requests: pl.DataFrame,
    intents: pl.DataFrame,
    *,
    as_of: datetime,
    default_hourly_cost: float,
    hours: str = "lost_hours",
    lookback_days: float = MONTH_DAYS,
    default_automatability: float = DEFAULT_AUTOMATABILITY,
    opened_at: str = "opened_at",
    prior_occurrences: float = PRIOR_OCCURRENCES,
) -> pl.DataFrame:
    """Rank the issue types that still cost time (a request before `as_of` not deflected) by
    the expected hours saved per month if what is left of them were automated, from the frames
    the module docstring describes (every occurrence is also a request; `issue_type` from
    `issue_type_expr`); every input of the score is a column (see PRIORITY_COLUMNS). Rank 1
    saves the most; ties go to the larger remaining lost hours, then to the issue type."""
    _require(requests, (*REQUEST_COLUMNS, "loaded_hourly_cost", opened_at), "the requests")
    _require(intents, tuple(INTENT_SCHEMA), "the intents")
    history = _history(requests, as_of, opened_at)
    ranked = history.filter(~pl.col("is_deflected")).select("issue_type").unique()
    volume = forecast_monthly_volume(
        history, as_of, lookback_days, opened_at, counted=is_left_expr(intents)
    )
    per_occurrence = hours_per_occurrence(occurrences, as_of, hours, opened_at, prior_occurrences)
    overall = _history(occurrences, as_of, opened_at)[hours].mean()
    seen = (
        history.select("issue_type")
        .unique()
        .join(
            observed_success_and_cost(
                history, as_of, default_hourly_cost, lookback_days, opened_at
            ),
            on="issue_type",
            how="left",
        )
        .with_columns(
            pl.col("observed_requests", "deflected").fill_null(0),
            pl.col("loaded_hourly_cost").fill_null(float(default_hourly_cost)),
        )
    )
    share = automatable_share(
        pl.col("automatability") * pl.col("comparable_success"), pl.col("observed_success")
    )
    remaining_hours = pl.col("forecast_monthly_volume") * pl.col(
        "predicted_lost_hours_per_occurrence"
    )
    saved = pl.col("remaining_lost_hours_per_month") * pl.col("automatable_share_of_remaining")
    return (
        ranked.join(seen, on="issue_type")
        .join(volume, on="issue_type")
        .join(per_occurrence, on="issue_type", how="left")
        .join(comparable_success(seen, intents), on="issue_type")
        .join(automatability(history, intents, default_automatability), on="issue_type")
        .with_columns(pl.col("predicted_lost_hours_per_occurrence").fill_null(overall))
        .with_columns(
            remaining_hours.alias("remaining_lost_hours_per_month"),
            share.alias("automatable_share_of_remaining"),
        )
        .with_columns(saved.alias("expected_hours_saved_per_month"))
        .with_columns(
            (pl.col("expected_hours_saved_per_month") * pl.col("loaded_hourly_cost")).alias(
                "expected_cost_saved_per_month"
            )
        )
        .sort(
            ["expected_hours_saved_per_month", "remaining_lost_hours_per_month", "issue_type"],
            descending=[True, True, False],
        )
        .with_row_index("rank", offset=1)
        .rename({"occurrences": "remaining_occurrences", "in_lookback": "remaining_in_lookback"})
        .select(PRIORITY_COLUMNS)
    )


def what_if(
    priorities: pl.DataFrame | Mapping[str, Any], issue_type: str, automation_rate: float
) -> WhatIf:
    """Monthly hours and cost saved if automation resolved `automation_rate` (0..1) of an issue
    type's requests: its remaining lost hours per month × the share of what is left that this
    rate would resolve beyond the observed success (`automatable_share`), and × its loaded
    hourly cost. At automatability × comparable success it is the row's score; the what-if
    starts at the comparable success. Takes the priorities frame or one row of it (a mapping)."""
    if not 0.0 <= automation_rate <= 1.0:
        raise ValueError(f"automation_rate must be between 0 and 1, got {automation_rate}")
    row = _priority_row(priorities, issue_type)
    share = pl.select(
        automatable_share(pl.lit(automation_rate), pl.lit(row["observed_success"], pl.Float64))
    ).item()
    hours = float(row["remaining_lost_hours_per_month"]) * share
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
