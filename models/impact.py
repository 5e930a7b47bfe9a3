"""Impact model: the lost time (hours to resolve) of a ticket or interaction, predicted from what
is known when it opens, beside a transparent baseline (the category's median in the training data).

Features are named by an `ImpactFeatures` spec: categorical columns (category or intent,
priority, channel, department, initial assignment group, ...), numeric columns (for example the
workload counts of `add_workload_features`), an optional free-text column and the opening time,
from which the model derives the hour, weekday, month and a day number. The day number lets the
trees follow a drift in resolution times; beyond the training range they keep the latest level.
Only fields known at opening may be used: pass initial values (initial priority, initial
category, first assignment group), never final ones.

The estimator is a scikit-learn Pipeline: categories ordinal-encoded (unseen ones become missing),
text as TF-IDF reduced by truncated SVD, then a HistGradientBoostingRegressor. MAE is the metric,
so the loss is chosen by time-ordered cross-validation on the training frame among `CANDIDATES`:
squared or absolute error on log1p(hours), or absolute error on hours. Everything is seeded.
Fitting and predicting use one OpenMP thread (`THREADS`): the results are the same with more,
but on a busy machine the boosting's spinning threads made training 20 times slower.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import polars as pl
from sklearn.compose import ColumnTransformer, TransformedTargetRegressor
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import HistGradientBoostingRegressor
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.model_selection import KFold, TimeSeriesSplit
from sklearn.pipeline import Pipeline, make_pipeline
from sklearn.preprocessing import OrdinalEncoder
from threadpoolctl import threadpool_limits

SEED = 7
THREADS = 1
TIME_FEATURES = ("opened_hour", "opened_weekday", "opened_month", "opened_day")
MISSING = "(missing)"
MAX_CATEGORIES = 250  # HistGradientBoosting takes at most 255 categories per feature
TEXT_COMPONENTS = 16
SECONDS_PER_DAY = 86_400
# Fixed, moderately regularised boosting; only the loss and target scale are cross-validated.
BOOSTING = {
    "max_iter": 200,
    "learning_rate": 0.1,
    "min_samples_leaf": 40,
    "l2_regularization": 1.0,
    "early_stopping": False,
}


@dataclass(frozen=True)
class ImpactFeatures:
    """The columns the model reads: at least one categorical column, numeric columns, an
    optional text column (its vocabulary needs more than `TEXT_COMPONENTS` words that occur
    twice), and the opening timestamp (None to use no time features)."""

    categorical: tuple[str, ...]
    numeric: tuple[str, ...] = ()
    text: str | None = None
    opened_at: str | None = "opened_at"

    def __post_init__(self) -> None:
        if not self.categorical:
            raise ValueError("the impact model needs at least one categorical column")

    @property
    def columns(self) -> tuple[str, ...]:
        """The input columns a frame must have."""
        extra = tuple(c for c in (self.text, self.opened_at) if c)
        return (*self.categorical, *self.numeric, *extra)

    @property
    def numeric_inputs(self) -> tuple[str, ...]:
        """Numeric columns the estimator sees, derived time features included."""
        return (*self.numeric, *(TIME_FEATURES if self.opened_at else ()))


@dataclass(frozen=True)
class Candidate:
    """One loss and target scale tried by cross-validation."""

    name: str
    loss: str
    log_target: bool


CANDIDATES = (
    Candidate("log1p hours, squared error", "squared_error", log_target=True),
    Candidate("log1p hours, absolute error", "absolute_error", log_target=True),
    Candidate("hours, absolute error", "absolute_error", log_target=False),
)


@dataclass(frozen=True)
class ImpactModel:
    """A trained impact model: the features it reads, the fitted estimator, the candidate that
    cross-validation chose and every candidate's cross-validated MAE (hours)."""

    features: ImpactFeatures
    target: str
    estimator: Pipeline | TransformedTargetRegressor
    candidate: str
    cv_mae: dict[str, float]
    seed: int

    def predict(self, frame: pl.DataFrame) -> np.ndarray:
        """Predicted hours (never negative), one per row of `frame`."""
        _require(frame, self.features.columns, "the frame to predict")
        with threadpool_limits(THREADS, user_api="openmp"):
            predicted = self.estimator.predict(model_inputs(frame, self.features))
        return np.clip(predicted, 0.0, None)


def _require(frame: pl.DataFrame, columns: Sequence[str], what: str) -> None:
    """Fail with a clear message when a frame is empty or lacks columns."""
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise ValueError(f"{what} is missing columns {missing}; it has {frame.columns}")
    if frame.is_empty():
        raise ValueError(f"{what} has no rows")


def model_inputs(frame: pl.DataFrame, features: ImpactFeatures) -> pl.DataFrame:
    """The estimator's input: categories as text with nulls named, numbers as floats, the text
    column with nulls as empty strings, and the derived opening-time features."""
    columns = [pl.col(c).cast(pl.String).fill_null(MISSING) for c in features.categorical]
    columns += [pl.col(c).cast(pl.Float64) for c in features.numeric]
    if features.text:
        columns.append(pl.col(features.text).cast(pl.String).fill_null(""))
    if features.opened_at:
        opened = pl.col(features.opened_at)
        columns += [
            opened.dt.hour().cast(pl.Float64).alias("opened_hour"),
            opened.dt.weekday().cast(pl.Float64).alias("opened_weekday"),
            opened.dt.month().cast(pl.Float64).alias("opened_month"),
            (opened.dt.epoch("s") / SECONDS_PER_DAY).alias("opened_day"),
        ]
    return frame.select(columns)


def add_workload_features(
    frame: pl.DataFrame,
    opened_at: str = "opened_at",
    windows_days: Sequence[int] = (1, 7),
    per: Sequence[str] = (),
) -> pl.DataFrame:
    """Add, for each window, how many other rows opened in the `window` days up to each row's
    opening (`opened_last_<d>d`), overall and with the same value of each `per` column
    (`opened_last_<d>d_same_<column>`; a null is a value of its own). Only opening times of
    earlier or simultaneous rows are used, so the counts are known at opening."""
    _require(frame, [opened_at, *per], "the frame")
    if frame[opened_at].null_count():
        raise ValueError(f"workload features need every row's {opened_at}")
    seconds = frame[opened_at].dt.epoch("s").to_numpy().astype(np.int64)
    seconds -= seconds.min()
    # Key = group × span + seconds; span exceeds any window, so windows never cross groups.
    span = int(seconds.max()) + max(windows_days) * SECONDS_PER_DAY + 1
    counts = {}
    for column in (None, *per):
        if column is None:
            groups = np.zeros(len(frame), dtype=np.int64)
        else:
            groups = frame[column].cast(pl.String).rank("dense").fill_null(0).to_numpy()
        keys = groups.astype(np.int64) * span + seconds
        ordered = np.sort(keys)
        suffix = "" if column is None else f"_same_{column}"
        for days in windows_days:
            start = np.searchsorted(ordered, keys - days * SECONDS_PER_DAY, side="left")
            end = np.searchsorted(ordered, keys, side="right")
            counts[f"opened_last_{days}d{suffix}"] = end - start - 1
    return frame.with_columns(pl.Series(name, values) for name, values in counts.items())


def _estimator(
    features: ImpactFeatures, candidate: Candidate, seed: int
) -> Pipeline | TransformedTargetRegressor:
    """An unfitted pipeline for one candidate."""
    encoder = OrdinalEncoder(
        handle_unknown="use_encoded_value", unknown_value=np.nan, max_categories=MAX_CATEGORIES
    )
    parts = [("categorical", encoder, list(features.categorical))]
    if features.numeric_inputs:
        parts.append(("numeric", "passthrough", list(features.numeric_inputs)))
    if features.text:
        text = make_pipeline(
            TfidfVectorizer(sublinear_tf=True, min_df=2),
            TruncatedSVD(n_components=TEXT_COMPONENTS, random_state=seed),
        )
        parts.append(("text", text, features.text))
    boosting = HistGradientBoostingRegressor(
        loss=candidate.loss,
        categorical_features=list(range(len(features.categorical))),
        random_state=seed,
        **BOOSTING,
    )
    pipeline = make_pipeline(ColumnTransformer(parts), boosting)
    if not candidate.log_target:
        return pipeline
    return TransformedTargetRegressor(pipeline, func=np.log1p, inverse_func=np.expm1)


def _training_rows(frame: pl.DataFrame, target: str, features: ImpactFeatures) -> pl.DataFrame:
    """Rows with a known, non-negative target, in opening order when there is a timestamp."""
    _require(frame, [*features.columns, target], "the training frame")
    rows = frame.filter(pl.col(target).is_not_null() & (pl.col(target) >= 0))
    if rows.is_empty():
        raise ValueError(f"the training frame has no row with a non-negative {target}")
    return rows.sort(features.opened_at, maintain_order=True) if features.opened_at else rows


def _cross_validated_mae(
    inputs: pl.DataFrame,
    y: np.ndarray,
    features: ImpactFeatures,
    candidate: Candidate,
    seed: int,
    folds: int,
) -> float:
    """Mean MAE over folds: time-ordered (train on the past, test on what follows) when the rows
    are in opening order, else shuffled K-fold."""
    if features.opened_at:
        splitter = TimeSeriesSplit(folds)
    else:
        splitter = KFold(folds, shuffle=True, random_state=seed)
    errors = []
    for fit_rows, test_rows in splitter.split(inputs):
        fitted = _estimator(features, candidate, seed).fit(inputs[fit_rows], y[fit_rows])
        errors.append(np.mean(np.abs(fitted.predict(inputs[test_rows]) - y[test_rows])))
    return float(np.mean(errors))


def train_impact_model(
    frame: pl.DataFrame,
    target: str,
    features: ImpactFeatures,
    *,
    seed: int = SEED,
    candidates: Sequence[Candidate] = CANDIDATES,
    folds: int = 3,
) -> ImpactModel:
    """Train on the rows with a known, non-negative target: pick the candidate with the lowest
    cross-validated MAE on this frame only, then refit it on all of it."""
    rows = _training_rows(frame, target, features)
    if len(rows) < 2 * (folds + 1):
        raise ValueError(f"need at least {2 * (folds + 1)} rows with a {target}; got {len(rows)}")
    inputs, y = model_inputs(rows, features), rows[target].cast(pl.Float64).to_numpy()
    with threadpool_limits(THREADS, user_api="openmp"):
        cv_mae = {
            c.name: _cross_validated_mae(inputs, y, features, c, seed, folds) for c in candidates
        }
        best = min(candidates, key=lambda c: cv_mae[c.name])
        estimator = _estimator(features, best, seed).fit(inputs, y)
    return ImpactModel(features, target, estimator, best.name, cv_mae, seed)


def category_median_baseline(
    train: pl.DataFrame, test: pl.DataFrame, category: str, target: str
) -> np.ndarray:
    """The baseline: each test row gets its category's median target in `train` (the median of
    all training rows when the category is new or null)."""
    _require(train, [category, target], "the training frame")
    _require(test, [category], "the test frame")
    known = train.filter(pl.col(target).is_not_null())
    overall = known[target].median()
    medians = known.group_by(category).agg(pl.col(target).median().alias("_median"))
    joined = test.select(category).join(medians, on=category, how="left", nulls_equal=True)
    return joined["_median"].fill_null(overall).cast(pl.Float64).to_numpy()


def evaluate(
    model: ImpactModel, train: pl.DataFrame, test: pl.DataFrame, category: str
) -> dict[str, float]:
    """MAE of the model and of the category-median baseline on the test rows with a known
    target, and the improvement (1 − model MAE / baseline MAE)."""
    rows = test.filter(pl.col(model.target).is_not_null())
    _require(rows, [*model.features.columns, category, model.target], "the test frame")
    actual = rows[model.target].cast(pl.Float64).to_numpy()
    mae = float(np.mean(np.abs(model.predict(rows) - actual)))
    baseline = category_median_baseline(train, rows, category, model.target)
    baseline_mae = float(np.mean(np.abs(baseline - actual)))
    return {
        "mae": mae,
        "baseline_mae": baseline_mae,
        "improvement": 1.0 - mae / baseline_mae if baseline_mae else 0.0,
        "rows": float(len(rows)),
    }
