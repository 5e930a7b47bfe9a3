"""The simulator drives the real engine: deterministic, varied, with heavy-tailed ticket times in
office hours, with an outage spike that the outage detector declares and tells its reporters
about, and with employees who each write in their office's languages."""

from __future__ import annotations

import random
import re
from collections import Counter
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import NamedTuple

import pytest
import yaml

from catalogue import cached_catalogue
from redaction import redact
from resolver.connectors.embedded import EnterpriseStore
from resolver.events import parse_time, read_events
from resolver.simulation import (
    REPLY_KEYS,
    SimulationSummary,
    add_typos,
    add_working_hours,
    desk_working_hours,
    employee_language,
    load_phrasings,
    load_resolutions,
    load_scenario,
    office_calendars,
    run_simulation,
)
from resolver.understanding import asks_for_human, choice, yes_or_no
from settings import PROJECT_ROOT, Settings
from tests.conftest import make_settings

START = date(2026, 9, 1)
OUTAGE_DAY = START + timedelta(days=38)  # London's VPN gateway, in data/simulation/scenario.yml
SIMULATION_DIR = PROJECT_ROOT / "data" / "simulation"
LANGUAGES = {"en", "de", "es", "fr"}


class Simulated(NamedTuple):
    """A simulation's summary, its events and its data dir's settings."""

    summary: SimulationSummary
    events: list[dict]
    settings: Settings


def simulate(
    data_dir: Path, trained_models: Path, days: int = 45, employees: int = 300
) -> Simulated:
    """Simulate a company from START into `data_dir`."""
    settings = make_settings(data_dir, trained_models)
    summary = run_simulation(settings, employees=employees, days=days, seed=5, start=START)
    return Simulated(summary, list(read_events(settings.events_dir)), settings)


@pytest.fixture(scope="module")
def simulated(tmp_path_factory: pytest.TempPathFactory, trained_models: Path) -> Simulated:
    """Six and a half weeks of a 300-employee company, with London's VPN outage on day 38."""
    return simulate(tmp_path_factory.mktemp("sim"), trained_models)


def test_same_seed_same_events(tmp_path: Path, trained_models: Path) -> None:
    first = simulate(tmp_path / "a", trained_models, days=10, employees=150).events
    second = simulate(tmp_path / "b", trained_models, days=10, employees=150).events
    key = lambda e: (e["occurred_at"], e["event_id"])  # noqa: E731
    assert sorted(first, key=key) == sorted(second, key=key)


def test_simulation_covers_every_outcome_and_the_outage(simulated: Simulated) -> None:
    summary, events, _ = simulated
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
    typical = sorted(vpn_by_day.values())[len(vpn_by_day) // 2]
    assert vpn_by_day[OUTAGE_DAY.isoformat()] > 5 * typical
    weekdays = Counter(
        parse_time(e["occurred_at"]).weekday()
        for e in events
        if e["event_type"] == "interaction_started"
    )
    assert weekdays[0] > 4 * weekdays[6]


def interactions_of(events: list[dict]) -> dict[str, dict]:
    """Each interaction's channel, employee, trigger, start, intent, the ticket it was escalated
    or linked to, and why it closed."""
    interactions: dict[str, dict] = {}
    for event in events:
        if not event["interaction_id"]:
            continue
        row = interactions.setdefault(event["interaction_id"], {"ticket_id": None})
        if event["event_type"] == "interaction_started":
            row.update(
                channel=event["channel"],
                employee_id=event["employee_id"],
                trigger=event.get("trigger") or {},
                started_at=parse_time(event["occurred_at"]),
            )
        elif event["event_type"] == "intent_detected":
            row["intent"] = event["intent"]
        elif event["event_type"] == "outcome_recorded" and event.get("ticket_id"):
            row["ticket_id"] = event["ticket_id"]
        elif event["event_type"] == "interaction_closed":
            row["reason"] = event["reason"]
    return interactions


def offices(settings: Settings) -> dict[str, str]:
    """Each simulated employee's office."""
    store = EnterpriseStore(settings.state_db)
    try:
        return {r["employee_id"]: r["location"] for r in store.query("select * from people")}
    finally:
        store.close()


def test_the_outage_detector_tells_each_reporter_not_yet_told_once(simulated: Simulated) -> None:
    summary, events, settings = simulated
    interactions = interactions_of(events)
    notices = [
        row
        for row in interactions.values()
        if row["channel"] == "proactive" and row["trigger"].get("type") == "outage_detected"
    ]
    assert notices, "the simulated VPN outage was not declared, or nobody was told"
    assert (summary.outages_detected, summary.outage_notices) == (1, len(notices))
    [(incident, office, detected_at)] = {
        (n["ticket_id"], n["trigger"]["location"], n["started_at"]) for n in notices
    }
    assert office == "lon" and detected_at.date() == OUTAGE_DAY
    assert {(n["trigger"]["ticket_id"], n["intent"]) for n in notices} == {(incident, "vpn_issue")}

    office_of = offices(settings)
    reports = [
        row
        for row in interactions.values()
        if row["channel"] != "proactive"
        and row.get("intent") == "vpn_issue"
        and office_of[row["employee_id"]] == office
        and detected_at - timedelta(hours=1) <= row["started_at"] < detected_at
    ]
    linked = [r for r in reports if r.get("reason") == "linked_to_incident"]
    assert {r["ticket_id"] for r in linked} <= {incident}  # one incident for one outage
    told_when_reporting = {r["employee_id"] for r in linked}
    told_by_notice = [n["employee_id"] for n in notices]
    assert len(set(told_by_notice)) == len(told_by_notice)  # once each
    assert set(told_by_notice) == {r["employee_id"] for r in reports} - told_when_reporting
    resolved = {
        e["ticket_id"]
        for e in events
        if e["event_type"] == "ticket_status_changed" and e["status"] == "resolved"
    }
    assert incident in resolved  # by the desk, when the gateway was fixed


def pareto_share(values: list[float], share: float = 0.8) -> float:
    """The smallest share of the values that adds up to `share` of their total."""
    ordered = sorted(values, reverse=True)
    total, running = sum(ordered), 0.0
    for count, value in enumerate(ordered, start=1):
        running += value
        if running >= share * total:
            return count / len(ordered)
    return 1.0


def test_desk_times_are_heavy_tailed_like_real_incident_history() -> None:
    scenario, _ = load_scenario(PROJECT_ROOT / "data" / "simulation")
    desk = scenario["service_desk"]
    rng = random.Random(3)
    for priority, resolution in desk["resolution_working_hours"].items():
        hours = sorted(
            desk_working_hours(rng, resolution, desk["first_touch_within_hours"])
            for _ in range(20_000)
        )
        quick = sum(h < desk["first_touch_within_hours"] for h in hours) / len(hours)
        assert quick == pytest.approx(resolution["first_touch"], abs=0.02), priority
        # UCI: about a fifth of the tickets carry 80 % of the working hours
        assert 0.08 < pareto_share(hours) < 0.25, priority


def test_working_hours_count_in_the_office_calendar() -> None:
    calendars = office_calendars(cached_catalogue(PROJECT_ROOT / "data" / "catalogue").enterprise)
    london = calendars["lon"]  # 09:00-17:30 Europe/London, Monday to Friday
    until = datetime(2027, 1, 1, tzinfo=UTC)
    friday = datetime(2026, 10, 9, 15, 30, tzinfo=UTC)  # 16:30 in London (summer time)
    assert add_working_hours(friday, 2, london, until) == datetime(
        2026, 10, 12, 9, 0, tzinfo=UTC
    )  # one hour on Friday, one on Monday from 09:00 (08:00 UTC)
    christmas_eve = datetime(2026, 12, 24, 17, 0, tzinfo=UTC)  # GMT: 17:00 in London
    assert add_working_hours(christmas_eve, 1, london, until) == datetime(
        2026, 12, 29, 9, 30, tzinfo=UTC
    )  # half an hour on the 24th; the 25th, the weekend and the 28th are off
    assert add_working_hours(friday, 10_000, london, until) is None


def test_typos_change_words_but_not_their_number() -> None:
    text = "please reset my password because it expired"
    typed = add_typos(text, random.Random(1), 2)
    assert typed != text and len(typed.split()) == len(text.split())


# -- languages --------------------------------------------------------------------------------


def test_every_language_has_the_keys_of_english_and_enough_phrasings() -> None:
    scenario, phrasings = load_scenario(SIMULATION_DIR)
    assert set(phrasings) == LANGUAGES
    english = phrasings["en"]
    assert set(english) >= set(scenario["intent_mix"]) | set(REPLY_KEYS)
    assert {"hardware_request", "onboarding", "offboarding", "phishing_report"} <= set(english)
    for language, own in phrasings.items():
        assert set(own) == set(english), language
        for key in [*scenario["intent_mix"], "greeting", "thanks", "goodbye"]:
            assert 20 <= len(own[key]) <= 31, (language, key)
            assert len(set(own[key])) == len(own[key]), (language, key)
    assert {lang for shares in scenario["languages"].values() for lang in shares} == LANGUAGES


def write_phrasings(directory: Path, language: str, content: str) -> None:
    """Write one language's phrasings file."""
    directory.mkdir(exist_ok=True)
    (directory / f"{language}.yml").write_text(content, encoding="utf-8")


GERMAN_NEED = "need: ['ich brauche {group}', 'ich brauche zugriff']\n"


@pytest.mark.parametrize(
    ("german", "error"),
    [
        (
            GERMAN_NEED,
            r"phrasings/de\.yml has no phrasings for \['greeting'\]",
        ),
        (
            GERMAN_NEED + "greeting: [hallo]\nfarewell: [tschüss]\n",
            r"phrasings/de\.yml has keys en\.yml does not have: \['farewell'\]",
        ),
        (
            "need: ['ich brauche {gruppe}', 'ich brauche zugriff']\ngreeting: [hallo]\n",
            r"phrasings/de\.yml: 'need' phrasing 'ich brauche \{gruppe\}'",
        ),
        (
            GERMAN_NEED + "greeting: ['hallo {group}']\n",
            r"phrasings/de\.yml: 'greeting' phrasing",
        ),
    ],
)
def test_a_language_file_that_differs_from_english_is_named_with_its_key(
    tmp_path: Path, german: str, error: str
) -> None:
    directory = tmp_path / "phrasings"
    write_phrasings(directory, "en", "need: ['i need {group}', 'i need access']\ngreeting: [hi]\n")
    write_phrasings(directory, "de", german)
    with pytest.raises(ValueError, match=error):
        load_phrasings(directory)


def test_a_need_english_can_say_without_a_slot_must_be_sayable_in_every_language(
    tmp_path: Path,
) -> None:
    directory = tmp_path / "phrasings"
    write_phrasings(directory, "en", "need: ['i need {group}', 'i need access']\n")
    write_phrasings(directory, "fr", "need: ['il me faut {group}']\n")
    with pytest.raises(ValueError, match=r"phrasings/fr\.yml: 'need' needs a phrasing without"):
        load_phrasings(directory)


@pytest.mark.parametrize("language", sorted(LANGUAGES))
def test_the_short_replies_are_what_the_engine_parses(language: str) -> None:
    """Yes, no, a person, a choice: each language's forms as the engine's exact parsers read
    them (skipped for a language whose parsing has not landed yet: its plain "yes")."""
    replies = load_scenario(SIMULATION_DIR)[1][language]
    if yes_or_no(replies["yes"][0]) is None:
        pytest.skip(f"resolver/understanding.py does not parse {language} answers yet")
    for key, answer in (("yes", True), ("confirm", True), ("no", False), ("reject", False)):
        assert [t for t in replies[key] if yes_or_no(t) is not answer] == [], key
    assert [t for t in replies["ask_human"] if not asks_for_human(t)] == []
    options = ["password_reset", "account_unlock", "mfa_reset"]
    assert {choice(t.format(number=3), options) for t in replies["choice"]} == {2}


def test_an_employee_s_language_is_drawn_once_from_their_office_s_shares() -> None:
    shares = {"de": 0.75, "en": 0.25}
    drawn = [employee_language(5, f"E{n:06d}", shares) for n in range(2000)]
    assert drawn == [employee_language(5, f"E{n:06d}", shares) for n in range(2000)]
    assert Counter(drawn)["de"] / len(drawn) == pytest.approx(0.75, abs=0.03)
    assert drawn != [employee_language(6, f"E{n:06d}", shares) for n in range(2000)]
    assert {employee_language(5, f"E{n:06d}", {"fr": 1.0}) for n in range(50)} == {"fr"}


def phrasing_patterns(phrasings: dict[str, dict[str, list[str]]]) -> dict[str, re.Pattern]:
    """Per language, a pattern matching any text its employees may start an interaction with:
    a need, a greeting or a reply, its placeholders filled (the bare `{name}` and `{number}`
    answers left out: they match anything)."""
    patterns = {}
    for language, keys in phrasings.items():
        alternatives = [
            re.sub(r"\\\{\w+\\\}", ".+", re.escape(text))
            for key, texts in keys.items()
            if key not in ("entity_answer", "choice")
            for text in texts
        ]
        patterns[language] = re.compile("|".join(f"(?:{a})" for a in alternatives))
    return patterns


def test_employees_start_in_their_office_s_languages_and_each_keeps_one(
    simulated: Simulated,
) -> None:
    """The first message of every interaction an employee started, as the engine logged it, is
    a phrasing in a language of the employee's office; every language is written, and nobody
    switches language (texts with typos, which match no phrasing, are left out)."""
    _, events, settings = simulated
    scenario, phrasings = load_scenario(SIMULATION_DIR)
    patterns = phrasing_patterns(phrasings)
    office_of = offices(settings)
    started = {
        e["interaction_id"]: e["employee_id"]
        for e in events
        if e["event_type"] == "interaction_started" and e["channel"] != "proactive"
    }
    firsts = [
        (started[e["interaction_id"]], e["text"])
        for e in events
        if e["event_type"] == "message_received" and e["turn"] == 1
        if e["interaction_id"] in started
    ]
    kept: dict[str, set[str]] = {}  # the languages all of an employee's messages may be in
    matched = 0
    for employee_id, text in firsts:
        languages = {lang for lang, pattern in patterns.items() if pattern.fullmatch(text)}
        if not languages:
            continue
        matched += 1
        office = office_of[employee_id]
        assert languages & set(scenario["languages"][office]), (office, text)
        kept[employee_id] = kept.get(employee_id, languages) & languages
        assert kept[employee_id], (employee_id, text)
    assert matched > 0.6 * len(firsts)
    writers = Counter(
        (office_of[e], next(iter(langs))) for e, langs in kept.items() if len(langs) == 1
    )
    assert {language for _, language in writers} == LANGUAGES, writers
    assert writers[("ber", "de")] > writers[("ber", "en")] > 0, writers


SECRETS_IN_NOTES = ("Winter2024!", "Spring2025", "Welcome#2025", "Autumn2025!")


def test_the_desk_resolves_every_escalation_with_a_note_a_category_and_a_group(
    tmp_path: Path, trained_models: Path
) -> None:
    _, events, _ = simulate(tmp_path / "desk", trained_models, days=10, employees=150)
    escalations = {e["ticket_id"] for e in events if e["event_type"] == "ticket_opened"}
    resolved = [
        e
        for e in events
        if e["event_type"] == "ticket_status_changed" and e["status"] == "resolved"
    ]
    assert len({e["ticket_id"] for e in resolved} & escalations) >= 5
    for event in resolved:  # escalations and major incidents alike
        assert event["resolution_note"] and event["resolution_category"], event
        assert event["assignment_group"], event
    assert len({e["assignment_group"] for e in resolved}) >= 3
    notes = " ".join(e["resolution_note"] for e in resolved)
    assert not any(secret in notes for secret in SECRETS_IN_NOTES)
    assert "{host}" not in notes
    in_progress = [
        e
        for e in events
        if e["event_type"] == "ticket_status_changed" and e["status"] != "resolved"
    ]
    assert in_progress and not any("resolution_note" in e for e in in_progress)


def test_every_intent_has_three_to_six_fixes_and_one_dominates() -> None:
    scenario, _ = load_scenario(SIMULATION_DIR)
    resolutions = load_resolutions(SIMULATION_DIR / "resolutions.yml", list(scenario["intent_mix"]))
    assert set(scenario["intent_mix"]) <= set(resolutions.tickets)
    for intent, fixes in resolutions.tickets.items():
        weights = sorted((fix.weight for fix in fixes), reverse=True)
        assert 3 <= len(fixes) <= 6 and weights[0] > weights[1], intent
    rng = random.Random(3)
    drawn = Counter(resolutions.draw(rng, "password_reset").note for _ in range(2000))
    assert len(drawn) >= 8  # every note of every fix turns up
    secret = [note for note in drawn if "Winter2024!" in note]
    assert secret and redact(secret[0]) != secret[0]  # the engine logs it redacted


def test_a_resolutions_file_that_misses_an_intent_or_a_rule_is_named(tmp_path: Path) -> None:
    fix = {"category": "Access / Password", "group": "Service Desk L1", "weight": 1}
    fixes = [{**fix, "weight": n, "notes": [f"note {n}a", f"note {n}b"]} for n in (1, 2, 3)]
    path = tmp_path / "resolutions.yml"

    def problem(tickets: dict) -> str:
        path.write_text(yaml.safe_dump({"tickets": tickets}), encoding="utf-8")
        with pytest.raises(ValueError) as failure:
            load_resolutions(path, ["password_reset"])
        return str(failure.value)

    assert "no fixes for the intents ['human_handoff']" in problem({"password_reset": fixes})
    assert "'password_reset' needs a list of 3-6 fixes" in problem(
        {"password_reset": fixes[:2], "human_handoff": fixes}
    )
    one_note = [*fixes[:2], {**fixes[2], "notes": ["only one"]}]
    assert "needs 2-4 distinct notes" in problem(
        {"password_reset": one_note, "human_handoff": fixes}
    )
    twice = [*fixes[:2], fixes[0]]
    assert "lists a fix twice" in problem({"password_reset": twice, "human_handoff": fixes})
