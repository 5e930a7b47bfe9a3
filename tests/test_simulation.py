"""The simulator drives the real engine: deterministic, varied, and with an outage spike."""

from __future__ import annotations

from collections import Counter
from datetime import date
from pathlib import Path

from resolver.catalogue import cached_catalogue
from resolver.connectors.embedded import EnterpriseStore
from resolver.enterprise import generate_enterprise
from resolver.events import parse_time, read_events
from resolver.runtime import build_runtime
from resolver.simulation import (
    SimulationSummary,
    Simulator,
    add_typos,
    ids_from_seed,
    load_scenario,
)
from tests.conftest import make_settings
from unticket.settings import PROJECT_ROOT

START = date(2026, 9, 1)


def simulate(
    data_dir: Path, trained_models: Path, days: int = 45, employees: int = 300
) -> tuple[SimulationSummary, list[dict]]:
    settings = make_settings(data_dir, trained_models, events_fsync="never")
    store = EnterpriseStore(settings.state_db)
    generate_enterprise(store, cached_catalogue(settings.catalogue_dir).enterprise, employees, 5)
    store.close()
    runtime = build_runtime(settings, ids=ids_from_seed(5))
    scenario, phrasings = load_scenario(PROJECT_ROOT / "data" / "simulation")
    summary = Simulator(runtime, scenario, phrasings, 5, START, days).run()
    runtime.close()
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
