import csv
from datetime import datetime, timedelta
from pathlib import Path

import duckdb
import polars as pl
import pytest

from catalogue import cached_catalogue, load_catalogue
from models.priorities import (
    ASSUMED_SUCCESS,
    DEFAULT_AUTOMATABILITY,
    INTENT_SCHEMA,
    MONTH_DAYS,
    PRIOR_OCCURRENCES,
    PRIORITY_COLUMNS,
    automatability,
    automation_priorities,
    default_loaded_hourly_cost,
    forecast_monthly_volume,
    history_requests,
    hours_per_occurrence,
    intents_frame,
    issue_type_expr,
    what_if,
)
from settings import PROJECT_ROOT, Settings
from tests.conftest import build_scored_warehouse, make_settings

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
    assert row["occurrences"] == 4 and row["in_lookback"] == 3
    assert row["lookback_days"] == 30
    assert row["forecast_monthly_volume"] == pytest.approx(3 * MONTH_DAYS / 30)
    printer = volume.filter(pl.col("issue_type") == "printer_issue")
    assert printer["forecast_monthly_volume"].item() == pytest.approx(MONTH_DAYS / 30)


def test_forecast_over_a_history_shorter_than_the_lookback() -> None:
    volume = forecast_monthly_volume(occurrences(), AS_OF, lookback_days=365)
    row = volume.filter(pl.col("issue_type") == "password_reset").row(0, named=True)
    assert row["lookback_days"] == 60  # the history starts 60 days before as_of
    assert row["forecast_monthly_volume"] == pytest.approx(4 * MONTH_DAYS / 60)


def test_forecast_counts_only_the_selected_rows_over_the_whole_history() -> None:
    counted = pl.col("lost_hours") > 2
    volume = forecast_monthly_volume(occurrences(), AS_OF, lookback_days=365, counted=counted)
    by_type = {r["issue_type"]: r for r in volume.iter_rows(named=True)}
    assert by_type["password_reset"]["occurrences"] == 2  # 3 and 6 hours
    assert by_type["password_reset"]["in_lookback"] == 2
    assert by_type["servicenow:Network"]["occurrences"] == 2
    assert by_type["printer_issue"]["lookback_days"] == 60  # the uncounted rows still cover
    assert by_type["printer_issue"]["forecast_monthly_volume"] == pytest.approx(MONTH_DAYS / 60)


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


# --- what is left, observed success, comparable automation, one hourly cost -----------------

CATALOGUE_INTENTS = pl.DataFrame(
    [
        ("password_reset", True, "playbook", "l1", True),
        ("account_unlock", True, "playbook", "l1", True),
        ("vpn_issue", True, "playbook", "l1", True),
        ("it_question", True, "knowledge_search", "l1", False),
        ("printer_issue", False, "article", "l1", False),
        ("hardware_issue", False, "article", "l2", False),
    ],
    schema=INTENT_SCHEMA,
    orient="row",
)
DEFAULT_COST = 65.0
LOOKBACK = 30.0
PER_MONTH = MONTH_DAYS / LOOKBACK  # the forecast's scale: a month over the 30-day window


def asked(
    days_ago: float,
    intent: str,
    *,
    deflected: bool = False,
    hours: float | None = None,
    cost: float | None = None,
) -> dict:
    """One request to the engine."""
    return {
        "source": "unticket",
        "intent": intent,
        "category": None,
        "opened_at": AS_OF - timedelta(days=days_ago),
        "is_interaction": True,
        "is_deflected": deflected,
        "loaded_hourly_cost": cost,
        "lost_hours": hours,
    }


def imported(days_ago: float, intent: str, category: str, hours: float) -> dict:
    """One imported ticket of a Jira Service Management history."""
    ticket = {"source": "jsm", "intent": intent, "category": category, "lost_hours": hours}
    return {**ticket, "opened_at": AS_OF - timedelta(days=days_ago)}


def requests() -> pl.DataFrame:
    """A month of requests (one deflected reset 40 days ago starts the history):

    - password_reset: the most requests and the most imported tickets, but the engine resolves
      8 of its 10 requests; one escalated (2 h) and one abandoned (no lost time measured) are
      left; its 20 imported tickets (3 h each) are the playbook's to resolve now;
    - account_unlock: 3 requests, all resolved: nothing left, so not ranked;
    - vpn_issue: 4 of 10 resolved, 6 escalated (1 h each);
    - it_question: 1 of 5 resolved, 4 escalated (3 h each);
    - printer_issue (not automatable): 3 of 4 resolved, 1 escalated (4 h), 6 imported (4 h);
    - hardware_issue (not automatable, tier l2): 1 of 2 resolved, 1 escalated (6 h);
    - jsm:Other: 2 imported tickets of a category that maps to no intent (5 h each).
    """
    rows = [asked(40, "password_reset", deflected=True, cost=80.0)]
    rows += [asked(1 + d, "password_reset", deflected=True, cost=80.0) for d in range(8)]
    rows += [
        asked(3, "password_reset", hours=2.0, cost=100.0),
        asked(4, "password_reset", cost=100.0),
    ]
    rows += [imported(2 + d, "password_reset", "Password reset", 3.0) for d in range(20)]
    rows += [asked(5 + d, "account_unlock", deflected=True, cost=80.0) for d in range(3)]
    rows += [asked(1 + d, "vpn_issue", deflected=True, cost=90.0) for d in range(4)]
    rows += [asked(2 + d, "vpn_issue", hours=1.0, cost=90.0) for d in range(6)]
    rows += [asked(6, "it_question", deflected=True, cost=70.0)]
    rows += [asked(3 + d, "it_question", hours=3.0, cost=70.0) for d in range(4)]
    rows += [asked(1 + d, "printer_issue", deflected=True, cost=60.0) for d in range(3)]
    rows += [asked(8, "printer_issue", hours=4.0, cost=60.0)]
    rows += [imported(9 + d, "printer_issue", "Printer", 4.0) for d in range(6)]
    rows += [asked(2, "hardware_issue", deflected=True, cost=75.0)]
    rows += [asked(3, "hardware_issue", hours=6.0, cost=75.0)]
    rows += [imported(7 + d, "unmapped", "Other", 5.0) for d in range(2)]
    frame = pl.DataFrame(rows).with_columns(issue_type_expr())
    tickets = history_requests(frame.filter(pl.col("source") == "jsm"))
    engine = frame.filter(pl.col("source") == "unticket")
    return pl.concat([engine, tickets.select(engine.columns)]).sort("opened_at")


def measured(frame: pl.DataFrame) -> pl.DataFrame:
    """The occurrences: requests not deflected whose lost time was measured."""
    return frame.filter(~pl.col("is_deflected") & pl.col("lost_hours").is_not_null())


def ranked(frame: pl.DataFrame | None = None, **overrides: object) -> pl.DataFrame:
    frame = requests() if frame is None else frame
    options = {"as_of": AS_OF, "default_hourly_cost": DEFAULT_COST, "lookback_days": LOOKBACK,
               "prior_occurrences": 0} | overrides  # fmt: skip
    return automation_priorities(measured(frame), frame, CATALOGUE_INTENTS, **options)


def by_type(priorities: pl.DataFrame) -> dict[str, dict]:
    return {row["issue_type"]: row for row in priorities.iter_rows(named=True)}


def test_what_is_left_leaves_out_deflected_requests_and_tickets_a_playbook_handles() -> None:
    rows = by_type(ranked())
    assert "account_unlock" not in rows  # every request resolved: nothing left
    # an escalation and an abandoned request; not the 20 imported tickets, nor the 8 resolved
    reset = rows["password_reset"]
    assert (reset["remaining_occurrences"], reset["remaining_in_lookback"]) == (2, 2)
    assert reset["forecast_monthly_volume"] == pytest.approx(2 * PER_MONTH)
    # no playbook handles printers: their imported tickets are still left
    assert rows["printer_issue"]["remaining_occurrences"] == 1 + 6
    assert rows["jsm:Other"]["remaining_occurrences"] == 2
    # the abandoned request counts at the lost hours per occurrence of the measured ones
    assert reset["predicted_lost_hours_per_occurrence"] == pytest.approx((2.0 + 20 * 3.0) / 21)
    assert reset["remaining_lost_hours_per_month"] == pytest.approx(2 * PER_MONTH * 62 / 21)


def test_observed_success_is_the_share_of_requests_the_engine_deflected() -> None:
    rows = by_type(ranked())
    expected = {"password_reset": 0.8, "vpn_issue": 0.4, "it_question": 0.2}
    expected |= {"printer_issue": 0.75, "hardware_issue": 0.5}
    for issue_type, success in expected.items():
        assert rows[issue_type]["observed_success"] == pytest.approx(success), issue_type
    assert rows["password_reset"]["observed_requests"] == 10  # the one 40 days ago is older
    assert rows["jsm:Other"]["observed_requests"] == 0
    assert rows["jsm:Other"]["observed_success"] is None


def test_comparable_success_pools_other_automated_intents_of_the_same_kind_or_tier() -> None:
    rows = by_type(ranked())
    # playbooks other than its own: vpn 4 of 10, unlock 3 of 3
    assert rows["password_reset"]["comparable_success"] == pytest.approx(7 / 13)
    assert rows["password_reset"]["comparable_basis"] == "handling:playbook"
    assert rows["vpn_issue"]["comparable_success"] == pytest.approx(11 / 13)  # reset 8/10 + 3/3
    # no other knowledge search: the automated intents of its tier, l1
    assert rows["it_question"]["comparable_success"] == pytest.approx(15 / 23)
    assert rows["it_question"]["comparable_basis"] == "tier:l1"
    assert rows["printer_issue"]["comparable_success"] == pytest.approx(16 / 28)
    assert rows["printer_issue"]["comparable_basis"] == "tier:l1"
    # nothing automated in tier l2, and a category is no intent: every automated intent
    for issue_type in ("hardware_issue", "jsm:Other"):
        assert rows[issue_type]["comparable_success"] == pytest.approx(16 / 28)
        assert rows[issue_type]["comparable_basis"] == "all automated"
    tickets = history_requests(requests().filter(~pl.col("is_interaction")))
    alone = by_type(ranked(tickets))  # the engine has automated nothing yet
    assert {r["comparable_basis"] for r in alone.values()} == {"assumed"}
    assert {r["comparable_success"] for r in alone.values()} == {ASSUMED_SUCCESS}


def test_an_intent_already_automated_does_not_top_the_ranking() -> None:
    priorities = ranked()
    rows = by_type(priorities)
    reset = rows["password_reset"]
    # it resolves more of its requests (80 %) than comparable playbooks (54 %): nothing to gain
    assert reset["automatable_share_of_remaining"] == 0.0
    assert reset["expected_hours_saved_per_month"] == 0.0
    assert rows["vpn_issue"]["automatable_share_of_remaining"] == pytest.approx(
        (11 / 13 - 0.4) / (1 - 0.4)
    )
    assert rows["it_question"]["automatable_share_of_remaining"] == pytest.approx(
        (15 / 23 - 0.2) / (1 - 0.2)
    )
    assert rows["jsm:Other"]["automatable_share_of_remaining"] == pytest.approx(
        DEFAULT_AUTOMATABILITY * 16 / 28
    )
    assert rows["printer_issue"]["automatable_share_of_remaining"] == 0.0  # not automatable
    # saved first, then what is left; the reset has the most requests and tickets, yet is last
    assert priorities["issue_type"].to_list() == [
        "it_question", "vpn_issue", "jsm:Other", "printer_issue", "hardware_issue",
        "password_reset",
    ]  # fmt: skip
    assert priorities["rank"].to_list() == list(range(1, 7))


def test_every_score_is_its_inputs_multiplied() -> None:
    priorities = ranked()
    assert priorities.columns == list(PRIORITY_COLUMNS)
    for row in priorities.iter_rows(named=True):
        remaining = row["forecast_monthly_volume"] * row["predicted_lost_hours_per_occurrence"]
        assert row["remaining_lost_hours_per_month"] == pytest.approx(remaining)
        seen = row["observed_success"] or 0.0
        target = row["automatability"] * row["comparable_success"]
        share = max(0.0, target - seen) / (1 - seen)
        assert row["automatable_share_of_remaining"] == pytest.approx(share)
        hours = remaining * share
        assert row["expected_hours_saved_per_month"] == pytest.approx(hours)
        assert row["expected_cost_saved_per_month"] == pytest.approx(
            hours * row["loaded_hourly_cost"]
        )
    vpn = by_type(priorities)["vpn_issue"]
    assert vpn["expected_hours_saved_per_month"] == pytest.approx(
        6 * PER_MONTH * 1.0 * (11 / 13 - 0.4) / 0.6
    )


def test_hours_are_priced_at_the_requesters_loaded_hourly_cost() -> None:
    rows = by_type(ranked())
    assert rows["password_reset"]["loaded_hourly_cost"] == pytest.approx((8 * 80 + 2 * 100) / 10)
    assert rows["vpn_issue"]["loaded_hourly_cost"] == 90.0
    assert rows["printer_issue"]["loaded_hourly_cost"] == 60.0  # its tickets have no requester
    assert rows["jsm:Other"]["loaded_hourly_cost"] == DEFAULT_COST  # nobody to ask the roster


def test_ties_go_to_the_larger_remaining_lost_hours_then_to_the_issue_type() -> None:
    tickets = [imported(1, "unmapped", name, 2.0) for name in ("b", "a", "c")]
    frame = history_requests(pl.DataFrame(tickets).with_columns(issue_type_expr()))
    assert ranked(frame)["issue_type"].to_list() == ["jsm:a", "jsm:b", "jsm:c"]
    nothing_saved = ranked().filter(pl.col("expected_hours_saved_per_month") == 0)
    assert nothing_saved["issue_type"].to_list() == [
        "printer_issue", "hardware_issue", "password_reset"
    ]  # fmt: skip
    left = nothing_saved["remaining_lost_hours_per_month"].to_list()
    assert left == sorted(left, reverse=True)


def test_the_what_if_starts_where_comparable_automation_stands() -> None:
    priorities = ranked()
    for row in priorities.iter_rows(named=True):
        rate = row["automatability"] * row["comparable_success"]
        projected = what_if(priorities, row["issue_type"], rate)
        assert projected.hours_saved_per_month == pytest.approx(
            row["expected_hours_saved_per_month"]
        )
        assert projected.cost_saved_per_month == pytest.approx(row["expected_cost_saved_per_month"])
    printer = by_type(priorities)["printer_issue"]  # not automatable: what if it were?
    start = what_if(printer, "printer_issue", printer["comparable_success"])
    assert start.hours_saved_per_month == 0.0  # the engine resolves 75 %, above the 57 %
    full = what_if(printer, "printer_issue", 1.0)
    assert full.hours_saved_per_month == pytest.approx(printer["remaining_lost_hours_per_month"])
    assert full.cost_saved_per_month == pytest.approx(full.hours_saved_per_month * 60.0)
    for rate in (0.8, 0.9):  # linear in the rate above the observed success
        partial = what_if(printer, "printer_issue", rate)
        assert partial.hours_saved_per_month == pytest.approx(
            (rate - 0.75) / 0.25 * full.hours_saved_per_month
        )
    other = by_type(priorities)["jsm:Other"]  # nothing resolved by the engine yet
    assert what_if(other, "jsm:Other", 0.5).hours_saved_per_month == pytest.approx(
        0.5 * other["remaining_lost_hours_per_month"]
    )


def test_what_if_errors() -> None:
    priorities = ranked()
    with pytest.raises(ValueError, match="between 0 and 1"):
        what_if(priorities, "printer_issue", 1.5)
    with pytest.raises(ValueError, match="not in the priorities"):
        what_if(priorities, "account_unlock", 0.5)
    with pytest.raises(ValueError, match="not 'vpn_issue'"):
        what_if(priorities.row(0, named=True), "vpn_issue", 0.5)


def test_clear_errors_for_empty_or_incomplete_data() -> None:
    frame = requests()
    with pytest.raises(ValueError, match="has no rows"):
        ranked(frame.clear())
    with pytest.raises(ValueError, match=r"missing columns \['is_deflected'\]"):
        automation_priorities(
            measured(frame), frame.drop("is_deflected"), CATALOGUE_INTENTS, as_of=AS_OF,
            default_hourly_cost=1.0,
        )  # fmt: skip
    with pytest.raises(ValueError, match=r"the intents is missing columns \['has_playbook'\]"):
        automation_priorities(
            measured(frame), frame, CATALOGUE_INTENTS.drop("has_playbook"), as_of=AS_OF,
            default_hourly_cost=1.0,
        )  # fmt: skip
    with pytest.raises(ValueError, match="hours column 'minutes'"):
        ranked(hours="minutes")
    with pytest.raises(ValueError, match="no occurrence opened before 2020-01-01"):
        ranked(as_of=datetime(2020, 1, 1))


def test_catalogue_defaults() -> None:
    catalogue = cached_catalogue(PROJECT_ROOT / "data" / "catalogue")
    assert default_loaded_hourly_cost(catalogue) == 65.0
    intents = {row["intent"]: row for row in intents_frame(catalogue).iter_rows(named=True)}
    assert intents["password_reset"]["is_automatable"] is True
    assert intents["password_reset"]["has_playbook"] is True
    assert intents["password_reset"]["handling_kind"] == "playbook"
    assert intents["printer_issue"]["is_automatable"] is False
    assert intents["printer_issue"]["handling_kind"] == "article"
    assert intents["it_question"]["has_playbook"] is False
    assert intents["hardware_issue"]["support_tier"] == "l2"


# --- on a warehouse the pipeline built and scored --------------------------------------------

JSM_MAPPING = PROJECT_ROOT / "data" / "mappings" / "jsm.yml"
# A history from before the engine: password resets were most of the tickets.
HISTORY = {"Password reset": 90, "Printer": 20, "Hardware": 10}


def write_history(path: Path) -> Path:
    """A Jira Service Management export of resolved tickets from the two weeks before the
    simulation, each resolved 3 hours after it was raised."""
    rows = []
    for kind, count in HISTORY.items():
        for number in range(count):
            opened = datetime(2026, 8, 24, 9) + timedelta(days=number % 14, hours=number % 6)
            rows.append({
                "Issue key": f"ITHELP-{len(rows) + 1000}", "Summary": f"{kind} ticket {number}",
                "Description": "", "Status": "Done", "Priority": "Medium",
                "Created": opened.isoformat(), "Resolved": (opened + timedelta(hours=3)).isoformat(),
                "Request Type": kind,
            })  # fmt: skip
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    return path


@pytest.fixture(scope="module")
def scored(tmp_path_factory: pytest.TempPathFactory, trained_models: Path) -> Settings:
    """Simulated events and an imported history dominated by password resets, built and
    scored by the pipeline's own train-and-score step."""
    root = tmp_path_factory.mktemp("priorities")
    settings = make_settings(root / "data", trained_models)
    build_scored_warehouse(
        settings, write_history(root / "jsm.csv"), JSM_MAPPING, "priorities-test"
    )
    return settings


def read(settings: Settings, sql: str) -> pl.DataFrame:
    with duckdb.connect(str(settings.work_warehouse_path), read_only=True) as connection:
        return connection.sql(sql).pl()


# The engine's support interactions with a known outcome, by issue type: the intent, or the one
# the ticket categoriser predicted confidently for an escalation of an unspecified need.
INTERACTIONS_SQL = """
select coalesce(categorised.predicted_intent, interactions.intent) as issue_type, interactions.*
from marts.fct_interactions as interactions
left join (select * from marts.ticket_categories where is_confident) as categorised
    using (interaction_id)
where interactions.is_support and interactions.outcome <> 'pending'
"""


def test_the_warehouse_ranking_is_of_what_is_left(scored: Settings) -> None:
    priorities = read(scored, "select * from marts.automation_priorities order by rank")
    rows = by_type(priorities)
    reset = rows["password_reset"]
    # the resets the engine resolves and the 90 imported ones are not left to automate
    assert reset["observed_success"] > 0.6
    assert priorities["issue_type"][0] != "password_reset"
    assert reset["expected_hours_saved_per_month"] < priorities["expected_hours_saved_per_month"][0]
    interactions = read(scored, INTERACTIONS_SQL)
    left = dict(interactions.filter(~pl.col("is_deflected")).group_by("issue_type").len().rows())
    assert reset["remaining_occurrences"] == left["password_reset"]
    # printers have no playbook: their imported tickets are still left
    assert rows["printer_issue"]["remaining_occurrences"] == left.get("printer_issue", 0) + 20


def test_the_warehouse_ranking_prices_hours_at_the_roster_cost(scored: Settings) -> None:
    priorities = read(scored, "select * from marts.automation_priorities")
    costs = (
        read(scored, INTERACTIONS_SQL)
        .group_by("issue_type")
        .agg(pl.col("loaded_hourly_cost").mean().alias("roster"))
    )
    joined = priorities.join(costs, on="issue_type")
    assert joined.height == priorities.height
    assert (joined["loaded_hourly_cost"] - joined["roster"]).abs().max() < 1e-9
    catalogue = load_catalogue(scored.catalogue_dir)
    assert (joined["loaded_hourly_cost"] != default_loaded_hourly_cost(catalogue)).all()
