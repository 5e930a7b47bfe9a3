from datetime import datetime, timedelta

import numpy as np
import polars as pl
import pytest

from models.impact import (
    CANDIDATES,
    ImpactFeatures,
    add_workload_features,
    category_median_baseline,
    evaluate,
    model_inputs,
    train_impact_model,
)

FEATURES = ImpactFeatures(categorical=("category", "priority"))
START = datetime(2026, 1, 5)  # a Monday


def synthetic(rows: int = 800, seed: int = 0) -> pl.DataFrame:
    """Hours depend on category and, strongly, on priority: the category median misses half."""
    rng = np.random.default_rng(seed)
    category = rng.choice(["network", "access", "hardware"], rows)
    priority = rng.choice(["high", "low"], rows)
    base = np.select([category == "network", category == "access"], [4.0, 1.0], 10.0)
    hours = base * np.where(priority == "low", 8.0, 1.0) * rng.lognormal(0.0, 0.3, rows)
    opened = [
        START + timedelta(minutes=int(m)) for m in np.sort(rng.integers(0, 60 * 24 * 60, rows))
    ]
    words = np.array([f"word{i}" for i in range(40)])
    text = [" ".join([*rng.choice(words, 4), "slow" if p == "low" else "urgent"]) for p in priority]
    return pl.DataFrame(
        {
            "category": category,
            "priority": priority,
            "opened_at": opened,
            "hours": hours,
            "text": text,
        }
    )


def split(frame: pl.DataFrame) -> tuple[pl.DataFrame, pl.DataFrame]:
    cut = int(len(frame) * 0.75)
    return frame[:cut], frame[cut:]


@pytest.fixture(scope="module")
def trained():
    train, test = split(synthetic())
    return train, test, train_impact_model(train, "hours", FEATURES, seed=3)


def test_model_beats_the_category_median(trained) -> None:
    train, test, model = trained
    scores = evaluate(model, train, test, "category")
    assert scores["improvement"] > 0.3
    assert scores["mae"] < scores["baseline_mae"]
    assert scores["rows"] == len(test)


def test_cross_validation_chooses_the_lowest_mae(trained) -> None:
    _, _, model = trained
    assert set(model.cv_mae) == {c.name for c in CANDIDATES}
    assert model.cv_mae[model.candidate] == min(model.cv_mae.values())


def test_same_seed_same_model(trained) -> None:
    train, test, model = trained
    again = train_impact_model(train, "hours", FEATURES, seed=3)
    assert again.candidate == model.candidate
    assert np.array_equal(again.predict(test), model.predict(test))


def test_predictions_are_not_negative_and_tolerate_unseen_values(trained) -> None:
    _, test, model = trained
    unseen = test[:3].with_columns(
        pl.Series("category", ["printer", None, "network"]), pl.lit(None).alias("priority")
    )
    predicted = model.predict(unseen)
    assert predicted.shape == (3,) and (predicted >= 0).all()


def test_text_carries_signal() -> None:
    train, test = split(synthetic(seed=1))
    features = ImpactFeatures(categorical=("category",), text="text")
    model = train_impact_model(train, "hours", features, seed=3, candidates=CANDIDATES[:1])
    assert evaluate(model, train, test, "category")["improvement"] > 0.3


def test_time_features_derived_from_opening() -> None:
    frame = pl.DataFrame({"category": ["a"], "opened_at": [datetime(2026, 3, 4, 15, 30)]})
    inputs = model_inputs(frame, ImpactFeatures(categorical=("category",)))
    row = inputs.row(0, named=True)
    assert (row["opened_hour"], row["opened_weekday"], row["opened_month"]) == (15, 3, 3)
    assert row["opened_day"] == pytest.approx(
        (datetime(2026, 3, 4, 15, 30) - datetime(1970, 1, 1)).total_seconds() / 86_400
    )


def test_clear_errors_for_empty_or_incomplete_data(trained) -> None:
    train, test, model = trained
    with pytest.raises(ValueError, match="has no rows"):
        train_impact_model(train.clear(), "hours", FEATURES)
    with pytest.raises(ValueError, match=r"missing columns \['priority'\]"):
        train_impact_model(train.drop("priority"), "hours", FEATURES)
    with pytest.raises(ValueError, match=r"missing columns \['lost_hours'\]"):
        train_impact_model(train, "lost_hours", FEATURES)
    with pytest.raises(ValueError, match="no row with a non-negative hours"):
        train_impact_model(train.with_columns(hours=pl.lit(None)), "hours", FEATURES)
    with pytest.raises(ValueError, match="at least 8 rows"):
        train_impact_model(train[:5], "hours", FEATURES)
    with pytest.raises(ValueError, match=r"missing columns \['category'\]"):
        model.predict(test.drop("category"))
    with pytest.raises(ValueError, match="has no rows"):
        model.predict(test.clear())


def test_category_median_baseline() -> None:
    train = pl.DataFrame(
        {"category": ["a", "a", "a", "b", None], "hours": [1.0, 2.0, 9.0, 4.0, 6.0]}
    )
    test = pl.DataFrame({"category": ["a", "b", "c", None]})
    baseline = category_median_baseline(train, test, "category", "hours")
    assert baseline.tolist() == [2.0, 4.0, 4.0, 6.0]


def test_workload_counts_use_only_earlier_openings() -> None:
    opened = [datetime(2026, 1, 1, 9), datetime(2026, 1, 1, 10), datetime(2026, 1, 1, 10)]
    opened.append(datetime(2026, 1, 3, 9))
    frame = pl.DataFrame({"opened_at": opened, "group": ["x", "y", "x", None]})
    counts = add_workload_features(frame, windows_days=(1, 7), per=("group",))
    assert counts["opened_last_1d"].to_list() == [0, 2, 2, 0]
    assert counts["opened_last_7d"].to_list() == [0, 2, 2, 3]
    assert counts["opened_last_7d_same_group"].to_list() == [0, 0, 1, 0]
    with pytest.raises(ValueError, match="every row's opened_at"):
        add_workload_features(frame.with_columns(opened_at=pl.lit(None, pl.Datetime)))


def test_without_opening_time_cross_validation_shuffles() -> None:
    train, test = split(synthetic(seed=2))
    features = ImpactFeatures(categorical=("category", "priority"), opened_at=None)
    model = train_impact_model(
        train.drop("opened_at"), "hours", features, candidates=CANDIDATES[:1]
    )
    assert evaluate(model, train, test, "category")["improvement"] > 0.3
    with pytest.raises(ValueError, match="at least one categorical"):
        ImpactFeatures(categorical=())
