"""Spike detection: interaction volume per intent and location against its expected level.

The expected count of a bucket (an hour, or a day) of one series (intent × location) is

    expected = level × share    (at least `min_expected`)

- `level` is the series' typical weekly volume: the median of its weekly totals over the
  previous `history_weeks` weeks (a median, so one past incident does not inflate it);
- `share` is the part of a week's volume that falls in this hour of the week (day of the week
  for daily buckets): the series' own shape over the same weeks, shrunk towards its location's
  shape (all intents of the location together) with a prior weight of `prior_weight`
  interactions. A busy series follows its own rhythm (password resets peak on Monday mornings),
  a sparse one borrows its office's rhythm (time zone, working hours, weekends). Hourly shapes
  are smoothed over neighbouring hours (weights 1/4, 1/2, 1/4) so that a few weeks of sparse
  counts do not make an hour look quiet by chance.

Only history before the day of the bucket is used, so a bucket is scored as it would have been
live; buckets before the `min_history_weeks`-th week are not scored, and spike buckets are
replaced by their expected count in the history later days use. A bucket is a spike when its
count is improbable under a Poisson law with the expected mean (`score` = -log10 of the upper
tail probability P(X >= actual), at least `min_score`), at least `min_count` and at least
`min_ratio` times the expected count; the unbroken run of buckets around it with a score of at
least `extend_score` (and the same ratio) belongs to the spike too. Spike buckets of a series
less than `max_gap` + 1 buckets apart make one episode. Everything is deterministic; times are
naive UTC, as in the marts.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Literal, NamedTuple

import duckdb
import numpy as np
import polars as pl
from scipy.special import gammainc

Bucket = Literal["hour", "day"]


class _Grid(NamedTuple):
    """How a bucket width is scored."""

    width: timedelta
    period: int  # buckets in a week
    step: int  # buckets sharing one baseline: a day
    smooth: bool  # average the weekly shape over neighbouring buckets


_GRIDS = {
    "hour": _Grid(timedelta(hours=1), 168, 24, smooth=True),
    "day": _Grid(timedelta(days=1), 7, 1, smooth=False),
}
_SERIES = ["intent", "location_id"]
MAX_SCORE = 300.0  # -log10 of the smallest probability reported

SPIKES_SCHEMA = {
    "intent": pl.String,
    "location_id": pl.String,
    "bucket_start": pl.Datetime("us"),
    "bucket_end": pl.Datetime("us"),
    "actual": pl.Int64,
    "expected": pl.Float64,
    "score": pl.Float64,
    "is_spike": pl.Boolean,
}


@dataclass(frozen=True)
class SpikeParameters:
    """The knobs of the baseline and of the spike rule (defaults tuned on the simulator)."""

    history_weeks: int = 4
    min_history_weeks: int = 2
    prior_weight: float = 200.0
    min_score: float = 6.0
    extend_score: float = 3.0
    min_count: int = 5
    min_ratio: float = 2.0
    min_expected: float = 0.05


def count_interactions(interactions: pl.DataFrame, bucket: Bucket = "hour") -> pl.DataFrame:
    """Count interactions (rows with intent, location_id, started_at) per intent, location and
    bucket: columns intent, location_id, bucket_start, interactions."""
    every = "1h" if bucket == "hour" else "1d"
    return (
        interactions.with_columns(
            pl.col("intent").fill_null("unknown"),
            pl.col("location_id").fill_null("unknown"),
            pl.col("started_at").dt.truncate(every).alias("bucket_start"),
        )
        .group_by(*_SERIES, "bucket_start")
        .agg(pl.len().cast(pl.Int64).alias("interactions"))
        .sort(*_SERIES, "bucket_start")
    )


def interaction_counts(
    connection: duckdb.DuckDBPyConnection, bucket: Bucket = "hour"
) -> pl.DataFrame:
    """Interactions per intent, location and bucket from `marts.fct_interactions` (UTC), counted
    in the warehouse: the same columns as `count_interactions`."""
    return connection.sql(
        """
        select
            coalesce(intent, 'unknown') as intent,
            coalesce(location_id, 'unknown') as location_id,
            date_trunc($bucket, started_at) as bucket_start,
            count(*) as interactions,
        from marts.fct_interactions
        group by all
        order by all
        """,
        params={"bucket": bucket},
    ).pl()


def detect_spikes(
    counts: pl.DataFrame, bucket: Bucket = "hour", parameters: SpikeParameters | None = None
) -> pl.DataFrame:
    """Score every bucket of every series from its `min_history_weeks`-th week: columns intent,
    location_id, bucket_start, bucket_end, actual, expected, score, is_spike.

    `counts` has intent, location_id, bucket_start and interactions (see `count_interactions`);
    hourly counts can be scored daily with `bucket="day"`. Missing buckets count as zero.
    """
    rule = parameters or SpikeParameters()
    grid = _GRIDS[bucket]
    counts = _rebucket(counts, bucket)
    if counts.is_empty():
        return pl.DataFrame(schema=SPIKES_SCHEMA)
    grid_start = counts["bucket_start"].min().replace(hour=0, minute=0, second=0, microsecond=0)
    series = counts.select(_SERIES).unique().sort(_SERIES)
    actual = _matrix(counts, series, grid_start, grid.width)
    locations = series["location_id"].to_numpy()
    _, location_index = np.unique(locations, return_inverse=True)
    first = rule.min_history_weeks * grid.period
    expected = _expected(actual, location_index, grid, rule)[:, first:]
    observed = actual[:, first:]
    scored = observed.shape[1]
    if scored == 0:
        return pl.DataFrame(schema=SPIKES_SCHEMA)
    score = _poisson_score(observed, expected)
    is_spike = _flag(observed, expected, score, rule)
    offsets = np.tile(np.arange(first, first + scored), len(series))
    starts = np.datetime64(grid_start, "us") + offsets * np.timedelta64(grid.width)
    return pl.DataFrame(
        {
            "intent": np.repeat(series["intent"].to_numpy(), scored),
            "location_id": np.repeat(locations, scored),
            "bucket_start": starts,
            "bucket_end": starts + np.timedelta64(grid.width),
            "actual": observed.ravel().astype(np.int64),
            "expected": expected.ravel(),
            "score": score.ravel(),
            "is_spike": is_spike.ravel(),
        },
        schema=SPIKES_SCHEMA,
    )


def spike_episodes(spikes: pl.DataFrame, max_gap: int = 1) -> pl.DataFrame:
    """Merge each series' spike buckets into episodes, bridging up to `max_gap` quiet buckets:
    columns intent, location_id, started_at, ended_at, buckets (flagged), interactions and
    expected (over the whole episode), peak_ratio (largest actual / expected), peak_score."""
    bridge = (pl.col("bucket_end") - pl.col("bucket_start")) * (max_gap + 1)
    episodes = (
        spikes.filter("is_spike")
        .sort(*_SERIES, "bucket_start")
        .with_columns(
            (pl.col("bucket_start") - pl.col("bucket_start").shift(1).over(_SERIES) > bridge)
            .fill_null(True)
            .cum_sum()
            .alias("episode")
        )
        .group_by(*_SERIES, "episode")
        .agg(
            pl.col("bucket_start").min().alias("started_at"),
            pl.col("bucket_end").max().alias("ended_at"),
            pl.len().cast(pl.Int64).alias("buckets"),
            (pl.col("actual") / pl.col("expected")).max().alias("peak_ratio"),
            pl.col("score").max().alias("peak_score"),
        )
    )
    totals = (
        episodes.join(spikes, on=_SERIES)
        .filter(
            (pl.col("bucket_start") >= pl.col("started_at"))
            & (pl.col("bucket_start") < pl.col("ended_at"))
        )
        .group_by(*_SERIES, "episode")
        .agg(
            pl.col("actual").sum().alias("interactions"),
            pl.col("expected").sum().alias("expected"),
        )
    )
    return (
        episodes.join(totals, on=[*_SERIES, "episode"])
        .select(
            *_SERIES,
            "started_at",
            "ended_at",
            "buckets",
            "interactions",
            "expected",
            "peak_ratio",
            "peak_score",
        )
        .sort("started_at", *_SERIES)
    )


def _rebucket(counts: pl.DataFrame, bucket: Bucket) -> pl.DataFrame:
    """Sum counts into buckets of the chosen width (hourly counts become daily ones)."""
    every = "1h" if bucket == "hour" else "1d"
    return counts.group_by(
        *_SERIES, pl.col("bucket_start").cast(pl.Datetime("us")).dt.truncate(every)
    ).agg(pl.col("interactions").sum())


def _matrix(
    counts: pl.DataFrame, series: pl.DataFrame, grid_start: datetime, width: timedelta
) -> np.ndarray:
    """Counts as a dense series × bucket matrix starting at `grid_start` (zeros where missing)."""
    micros = width // timedelta(microseconds=1)
    elapsed = (pl.col("bucket_start") - pl.lit(grid_start)).dt.total_microseconds()
    indexed = counts.join(series.with_row_index("row"), on=_SERIES).with_columns(
        (elapsed // micros).alias("column")
    )
    rows = indexed["row"].to_numpy()
    columns = indexed["column"].to_numpy().astype(np.int64)
    matrix = np.zeros((len(series), int(columns.max()) + 1))
    matrix[rows, columns] = indexed["interactions"].to_numpy()
    return matrix


def _expected(
    actual: np.ndarray, location_index: np.ndarray, grid: _Grid, rule: SpikeParameters
) -> np.ndarray:
    """The expected count of every bucket (at least `min_expected`) from the weeks before its
    day, from the `min_history_weeks`-th week on (NaN before). Spike buckets are replaced by
    their expected count in the history of later days, so an incident neither raises nor, by
    taking a share of the week, lowers the baseline after it."""
    expected = np.full(actual.shape, np.nan)
    history = actual.copy()
    locations = int(location_index.max()) + 1
    period = grid.period
    for begin in range(rule.min_history_weeks * period, actual.shape[1], grid.step):
        weeks = min(rule.history_weeks, begin // period)
        window = history[:, begin - weeks * period : begin].reshape(len(actual), weeks, period)
        level = np.median(window.sum(axis=2), axis=1)
        own = _smooth(window.sum(axis=1)) if grid.smooth else window.sum(axis=1)
        place = np.zeros((locations, period))
        np.add.at(place, location_index, own)
        place_share = place / np.maximum(place.sum(axis=1, keepdims=True), 1.0)
        share = (own + rule.prior_weight * place_share[location_index]) / (
            own.sum(axis=1, keepdims=True) + rule.prior_weight
        )
        block = slice(begin, min(begin + grid.step, actual.shape[1]))
        width = block.stop - block.start
        expected[:, block] = np.maximum(level[:, None] * share[:, :width], rule.min_expected)
        spikes = _flag(
            actual[:, block],
            expected[:, block],
            _poisson_score(actual[:, block], expected[:, block]),
            rule,
        )
        history[:, block] = np.where(spikes, expected[:, block], actual[:, block])
    return expected


def _smooth(cells: np.ndarray) -> np.ndarray:
    """Average each hour-of-week cell with its neighbours (weights 1/4, 1/2, 1/4, wrapping)."""
    return 0.5 * cells + 0.25 * (np.roll(cells, 1, axis=1) + np.roll(cells, -1, axis=1))


def _flag(
    actual: np.ndarray, expected: np.ndarray, score: np.ndarray, rule: SpikeParameters
) -> np.ndarray:
    """Spike buckets: those passing the full rule, extended through the unbroken runs of
    buckets around them that pass the milder `extend_score` (hysteresis, so that an episode's
    quieter start and end belong to it without starting episodes of their own)."""
    above = actual >= rule.min_ratio * expected
    core = above & (score >= rule.min_score) & (actual >= rule.min_count)
    mild = above & (score >= rule.extend_score)
    runs = np.cumsum(~mild, axis=1) + np.arange(len(actual))[:, None] * (actual.shape[1] + 1)
    return mild & np.isin(runs, runs[core])


def _poisson_score(actual: np.ndarray, expected: np.ndarray) -> np.ndarray:
    """-log10 P(X >= actual) for X ~ Poisson(expected), capped at MAX_SCORE (0 when actual is 0)."""
    tail = np.where(actual > 0, gammainc(np.maximum(actual, 1), expected), 1.0)
    return np.minimum(-np.log10(np.maximum(tail, 10.0**-MAX_SCORE)), MAX_SCORE) + 0.0
