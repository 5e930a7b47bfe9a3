"""The simulator drives the real engine: deterministic, varied, and with an outage spike."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from resolver.events import parse_time, read_events
from resolver.simulation import SimulationSummary, add_typos, run_simulation
from tests.conftest import make_settings

START = date(2026, 9, 1)


def simulate(
    data_dir: Path, trained_models: Path, days: int = 45, employees: int = 300
) -> tuple[SimulationSummary, list[dict]]:
    settings = make_settings(data_dir, trained_models)
    summary = run_simulation(settings, employees=employees, days=days, seed=5, start=START)
    return summary, list(read_events(settings.events_dir))


def test_same_seed_same_events(tmp_path: Path, trained_models: Path) -> None:
    _, first = simulate(tmp_path / "a", trained_models, days=10, employees=150)
    _, second = simulate(tmp_path / "b", trained_models, days=10, employees=150)
    key = lambda e: (e["occurred_at"], e["event_id"])  # noqa: E731
    assert sorted(first, key=key) == sorted(second, key=key)


def test_simulation_covers_every_outcome_and_the_outage(
    tmp_path: Path, trained_models: Path
) -> None:
    summary, events = simulate(tmp_path / "sim", trained_models)
    assert summary.interactions > 500
    assert set(summary.outcomes) >= {
        "auto_resolved",
        "answered",
        "escalated",
        "abandoned",
        "unrecognized",
    }
    feedback = Counter(e["feedback"] for e in events if e["event_type"] == "feedback_received")
    assert feedback["confirmed"] and feedback["rejected"]
    assert any(e["event_type"] == "approval_decided" for e in events)
    assert any(
        e["event_type"] == "ticket_status_changed" and e["status"] == "resolved" for e in events
    )
    vpn_by_day = Counter(
        e["occurred_at"][:10]
        for e in events
        if e["event_type"] == "intent_detected" and e["intent"] == "vpn_issue"
    )
    outage_day = "2026-10-09"  # day 38 of the scenario
    typical = sorted(vpn_by_day.values())[len(vpn_by_day) // 2]
    assert vpn_by_day[outage_day] > 5 * typical
    weekdays = Counter(
        parse_time(e["occurred_at"]).weekday()
        for e in events
        if e["event_type"] == "interaction_started"
    )
    assert weekdays[0] > 4 * weekdays[6]


def test_typos_change_words_but_not_their_number() -> None:
    import random

    text = "please reset my password because it expired"
    typed = add_typos(text, random.Random(1), 2)
    assert typed != text and len(typed.split()) == len(text.split())
