from datetime import datetime, timedelta

import polars as pl
import pytest

from catalogue import cached_catalogue
from models.priorities import (
    DEFAULT_AUTOMATABILITY,
    MONTH_DAYS,
    PRIOR_OCCURRENCES,
    PRIORITY_COLUMNS,
    automatability,
    automation_priorities,
    default_loaded_hourly_cost,
    forecast_monthly_volume,
    hours_per_occurrence,
    intents_frame,
    issue_type_expr,
    what_if,
)
from settings import PROJECT_ROOT

AS_OF = datetime(2026, 6, 1)
INTENTS = pl.DataFrame(
    {"intent": ["password_reset", "printer_issue"], "is_automatable": [True, False]}
)


def occurrence(days_ago: float, intent: str | None, category: str, hours: float | None) -> dict:
    return {
        "opened_at": AS_OF - timedelta(days=days_ago),
        "source": "jsm" if intent else "servicenow",
        "intent": intent or "unmapped",
        "category": category,
        "lost_hours": hours,
    }


def occurrences() -> pl.DataFrame:
    """60 days of history: 3 password resets in the last month, 1 before; 2 printer tickets;
    2 unmapped 'Network' tickets; 1 'Password reset' ticket from an unmapped source."""
    rows = [
        occurrence(1, "password_reset", "Password reset", 1.0),
        occurrence(10, "password_reset", "Password reset", 2.0),
        occurrence(20, "password_reset", "Password reset", 3.0),
        occurrence(45, "password_reset", "Password reset", 6.0),
        occurrence(5, "printer_issue", "Printer", 10.0),
        occurrence(60, "printer_issue", "Printer", None),
        occurrence(2, None, "Network", 4.0),
        occurrence(3, None, "Network", 8.0),
        occurrence(4, None, "Password reset", 5.0),
        occurrence(-1, "password_reset", "Password reset", 100.0),  # after as_of: ignored
    ]
    return pl.DataFrame(rows).with_columns(issue_type_expr())


def test_issue_type_is_the_intent_or_source_and_category() -> None:
    frame = pl.DataFrame(
        {
            "intent": ["vpn_issue", "unmapped", None, "unmapped"],
            "source": ["jsm", "servicenow", "xes", "servicenow"],
            "category": ["VPN", "Category 26", "Disk", None],
        }
    )
    assert frame.select(issue_type_expr())["issue_type"].to_list() == [
        "vpn_issue",
        "servicenow:Category 26",
        "xes:Disk",
        "servicenow:none",
    ]


def test_forecast_is_the_lookback_rate_per_month() -> None:
    volume = forecast_monthly_volume(occurrences(), AS_OF, lookback_days=30)
    row = volume.filter(pl.col("issue_type") == "password_reset").row(0, named=True)
    assert row["occurrences"] == 4 and row["volume_in_lookback"] == 3
    assert row["lookback_days"] == 30
    assert row["forecast_monthly_volume"] == pytest.approx(3 * MONTH_DAYS / 30)
    printer = volume.filter(pl.col("issue_type") == "printer_issue")
    assert printer["forecast_monthly_volume"].item() == pytest.approx(MONTH_DAYS / 30)


def test_forecast_over_a_history_shorter_than_the_lookback() -> None:
    volume = forecast_monthly_volume(occurrences(), AS_OF, lookback_days=365)
    row = volume.filter(pl.col("issue_type") == "password_reset").row(0, named=True)
    assert row["lookback_days"] == 60  # the history starts 60 days before as_of
    assert row["forecast_monthly_volume"] == pytest.approx(4 * MONTH_DAYS / 60)


def test_hours_per_occurrence_is_the_mean_of_known_hours() -> None:
    hours = hours_per_occurrence(occurrences(), AS_OF, "lost_hours", prior_occurrences=0)
    by_type = dict(hours.iter_rows())
    assert by_type["password_reset"] == pytest.approx(3.0)  # (1 + 2 + 3 + 6) / 4; later row ignored
    assert by_type["printer_issue"] == pytest.approx(10.0)  # the null is left out
    assert by_type["servicenow:Network"] == pytest.approx(6.0)


def test_hours_per_occurrence_is_shrunk_toward_the_overall_mean() -> None:
    overall = (1 + 2 + 3 + 6 + 10 + 4 + 8 + 5) / 8  # every known hours before as_of
    by_type = dict(hours_per_occurrence(occurrences(), AS_OF, "lost_hours").iter_rows())
    assert PRIOR_OCCURRENCES == 20
    assert by_type["password_reset"] == pytest.approx((12 + 20 * overall) / (4 + 20))
    assert by_type["printer_issue"] == pytest.approx((10 + 20 * overall) / (1 + 20))
    frame = occurrences().with_columns(
        lost_hours=pl.when(pl.col("issue_type") == "printer_issue")
        .then(None)
        .otherwise("lost_hours")
    )
    by_type = dict(
        hours_per_occurrence(frame, AS_OF, "lost_hours", prior_occurrences=0).iter_rows()
    )
    assert by_type["printer_issue"] == pytest.approx((1 + 2 + 3 + 6 + 4 + 8 + 5) / 7)  # no hours
    with pytest.raises(ValueError, match="must not be negative"):
        hours_per_occurrence(occurrences(), AS_OF, "lost_hours", prior_occurrences=-1)


def test_automatability_sources() -> None:
    frame = occurrences().filter(pl.col("opened_at") < AS_OF)
    result = {r["issue_type"]: r for r in automatability(frame, INTENTS).iter_rows(named=True)}
    assert result["password_reset"]["automatability"] == 1.0
    assert result["password_reset"]["automatability_source"] == "catalogue"
    assert result["printer_issue"]["automatability"] == 0.0
    assert result["servicenow:Password reset"]["automatability"] == 1.0
    assert result["servicenow:Password reset"]["automatability_source"] == "category_share"
    assert result["servicenow:Network"]["automatability"] == DEFAULT_AUTOMATABILITY
    assert result["servicenow:Network"]["automatability_source"] == "default"


def test_priority_score_cost_and_rank() -> None:
    priorities = automation_priorities(
        occurrences(), INTENTS, as_of=AS_OF, loaded_hourly_cost=50.0, lookback_days=30,
        prior_occurrences=0,
    )  # fmt: skip
    assert priorities.columns == list(PRIORITY_COLUMNS)
    rows = {r["issue_type"]: r for r in priorities.iter_rows(named=True)}
    reset = rows["password_reset"]
    assert reset["expected_hours_saved_per_month"] == pytest.approx(3 * MONTH_DAYS / 30 * 3.0 * 1.0)
    assert reset["expected_cost_saved_per_month"] == pytest.approx(
        reset["expected_hours_saved_per_month"] * 50.0
    )
    network = rows["servicenow:Network"]
    assert network["expected_hours_saved_per_month"] == pytest.approx(
        2 * MONTH_DAYS / 30 * 6.0 * DEFAULT_AUTOMATABILITY
    )
    for row in priorities.iter_rows(named=True):
        assert row["expected_hours_saved_per_month"] == pytest.approx(
            row["forecast_monthly_volume"]
            * row["predicted_lost_hours_per_occurrence"]
            * row["automatability"]
        )
    # password_reset 9.1 h, servicenow:Password reset 5.1, servicenow:Network 3.0, printer 0.
    assert priorities["issue_type"].to_list() == [
        "password_reset",
        "servicenow:Password reset",
        "servicenow:Network",
        "printer_issue",
    ]
    assert priorities["rank"].to_list() == [1, 2, 3, 4]


def test_ties_are_ranked_by_issue_type() -> None:
    rows = [occurrence(1, None, name, 2.0) for name in ("b", "a", "c")]
    frame = pl.DataFrame(rows).with_columns(issue_type_expr())
    priorities = automation_priorities(frame, INTENTS, as_of=AS_OF, loaded_hourly_cost=1.0)
    assert priorities["issue_type"].to_list() == ["servicenow:a", "servicenow:b", "servicenow:c"]


def test_what_if_is_linear_in_the_rate() -> None:
    priorities = automation_priorities(
        occurrences(), INTENTS, as_of=AS_OF, loaded_hourly_cost=50.0, lookback_days=30,
        prior_occurrences=0,
    )  # fmt: skip
    full = what_if(priorities, "printer_issue", 1.0)
    assert full.hours_saved_per_month == pytest.approx(MONTH_DAYS / 30 * 10.0)
    assert full.cost_saved_per_month == pytest.approx(full.hours_saved_per_month * 50.0)
    for rate in (0.0, 0.25, 0.6):
        partial = what_if(priorities, "printer_issue", rate)
        assert partial.hours_saved_per_month == pytest.approx(rate * full.hours_saved_per_month)
        assert partial.cost_saved_per_month == pytest.approx(rate * full.cost_saved_per_month)
    row = priorities.filter(pl.col("issue_type") == "printer_issue").row(0, named=True)
    assert what_if(row, "printer_issue", 0.5) == what_if(priorities, "printer_issue", 0.5)


def test_what_if_errors() -> None:
    priorities = automation_priorities(occurrences(), INTENTS, as_of=AS_OF, loaded_hourly_cost=50.0)
    with pytest.raises(ValueError, match="between 0 and 1"):
        what_if(priorities, "printer_issue", 1.5)
    with pytest.raises(ValueError, match="not in the priorities"):
        what_if(priorities, "vpn_issue", 0.5)
    with pytest.raises(ValueError, match="not 'vpn_issue'"):
        what_if(priorities.row(0, named=True), "vpn_issue", 0.5)


def test_clear_errors_for_empty_or_incomplete_data() -> None:
    frame = occurrences()
    with pytest.raises(ValueError, match="has no rows"):
        automation_priorities(frame.clear(), INTENTS, as_of=AS_OF, loaded_hourly_cost=1.0)
    with pytest.raises(ValueError, match=r"missing columns \['issue_type'\]"):
        automation_priorities(
            frame.drop("issue_type"), INTENTS, as_of=AS_OF, loaded_hourly_cost=1.0
        )
    with pytest.raises(ValueError, match="hours column 'minutes'"):
        automation_priorities(frame, INTENTS, as_of=AS_OF, loaded_hourly_cost=1.0, hours="minutes")
    with pytest.raises(ValueError, match="no occurrence opened before 2020-01-01"):
        automation_priorities(frame, INTENTS, as_of=datetime(2020, 1, 1), loaded_hourly_cost=1.0)


def test_catalogue_defaults() -> None:
    catalogue = cached_catalogue(PROJECT_ROOT / "data" / "catalogue")
    assert default_loaded_hourly_cost(catalogue) == 65.0
    flags = dict(intents_frame(catalogue).iter_rows())
    assert flags["password_reset"] is True and flags["printer_issue"] is False
