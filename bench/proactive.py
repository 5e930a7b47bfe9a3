"""Share of account lock-outs resolved before the employee asked, over a simulated month.

Lock-outs happen in the embedded directory (five wrong passwords, as the simulator does) at the
rate the simulation scenario implies: interactions per employee per working day x the share of
`account_unlock` (Mondays boosted) x the share that really are locked, at the scenario's weekday
and hour weights (hours read as UTC). Every employee has a time at which their own request
would arrive (the time to notice and ask) and a time at which they would read an unsolicited
message; both depend on the cause of the lock-out (assumptions below, not measurements).

The lock-out watcher polls every N minutes and offers a verified unlock through the real engine
(`resolver.proactive`); an employee who reads the offer before they would have asked, and acts
on it, answers with the one-time code (again if it expired). Conversations time out as they do
behind the HTTP server (swept every minute). An employee still locked when their own request
is due asks on Slack and goes through the ordinary verified unlock.

A lock-out is *resolved before reported* when the proactive unlock completed before the
employee's own request would have arrived (the simulation's ground truth, split by cause).
"warehouse count" is what the event log shows: the watcher's offers whose outcome is
`auto_resolved`, over all lock-outs; it is a little higher, because an employee who started on
the offer before they would have asked finishes it even when that takes past that moment.
"offers abandoned" mostly timed out before the employee read them. "off" is the same month
without the watcher.

Run: .venv/bin/python bench/proactive.py [--employees 2000] [--days 30] [--polls off,1,5,15]
"""

from __future__ import annotations

import argparse
import heapq
import itertools
import math
import random
import re
import shutil
import statistics
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from catalogue import cached_catalogue
from resolver.connectors.embedded import LOCKOUT_THRESHOLD, EnterpriseStore
from resolver.engine import InboundMessage
from resolver.enterprise import generate_enterprise
from resolver.events import read_events
from resolver.identity import SIMULATION
from resolver.proactive import Lockout, poll_lockouts
from resolver.runtime import Runtime, build_runtime
from resolver.simulation import ids_from_seed, load_scenario
from settings import PROJECT_ROOT, Settings

START = date(2026, 11, 2)  # a Monday
SWEEP = timedelta(minutes=1)  # as the HTTP server closes timed-out conversations
CODE = re.compile(r"\b(\d{6})\b")
COLUMNS = (
    "poll min",
    "lock-outs",
    "resolved before reported",
    "typed",
    "background",
    "warehouse count",
    "offers",
    "offers abandoned",
    "median min locked",
    "still locked",
    "sim s",
)


@dataclass(frozen=True)
class Assumptions:
    """How employees notice a lock-out and read messages; the team's assumptions."""

    # Lock-outs from typing a wrong password: the employee sees it at once. The rest come from
    # stale credentials on another device (a phone's mail app, a mapped drive) and are only
    # noticed at the next sign-in.
    typed_share: float = 0.7
    # Median minutes from the lock-out to the employee's own request (lognormal).
    ask_median_minutes: tuple[float, float] = (4.0, 90.0)  # (typed, background)
    # Median minutes from an unsolicited message's delivery to the employee reading it.
    read_median_minutes: tuple[float, float] = (2.0, 30.0)  # (typed, background)
    spread: float = 0.9  # sigma of the lognormals
    act_on_offer: float = 0.85  # the rest ignore or distrust an unsolicited message


@dataclass
class Case:
    """One lock-out and what became of it."""

    employee_id: str
    typed: bool
    locked_at: datetime
    ask_at: datetime
    read_delay: timedelta
    acts: bool
    following_offer: bool = False
    offer_id: str | None = None
    unlocked_at: datetime | None = None
    unlocked_by: str | None = None  # proactive | request


@dataclass(order=True)
class _Scheduled:
    at: datetime
    seq: int
    action: Callable[[datetime], None] = field(compare=False)


def lognormal_minutes(rng: random.Random, median: float, spread: float) -> timedelta:
    """A lognormal duration with the given median (minutes)."""
    return timedelta(minutes=median * math.exp(rng.gauss(0.0, spread)))


def daily_rate(scenario: dict[str, Any]) -> float:
    """Real lock-outs per employee per working day implied by the scenario."""
    mix = scenario["intent_mix"]
    share = mix["account_unlock"] / sum(mix.values())
    really_locked = 1 - scenario["behaviour"]["not_actually_locked"]
    return scenario["interactions_per_employee_per_workday"] * share * really_locked


def plan_lockouts(
    employees: list[str], days: int, scenario: dict[str, Any], assume: Assumptions, seed: int
) -> list[Case]:
    """Draw the month's lock-outs: who, when, why, and when they would ask or read."""
    rng = random.Random(seed)
    cases = []
    for offset in range(days):
        day = START + timedelta(days=offset)
        boost = scenario["monday_boost"].get("account_unlock", 1.0) if day.weekday() == 0 else 1
        expected = daily_rate(scenario) * len(employees) * scenario["weekday_factor"][day.weekday()]
        for _ in range(max(0, round(rng.gauss(expected * boost, math.sqrt(expected * boost))))):
            hour = rng.choices(range(24), weights=scenario["hour_weight"])[0] + rng.random()
            locked_at = datetime(day.year, day.month, day.day, tzinfo=UTC) + timedelta(hours=hour)
            typed = rng.random() < assume.typed_share
            cause = 0 if typed else 1
            ask = lognormal_minutes(rng, assume.ask_median_minutes[cause], assume.spread)
            read = lognormal_minutes(rng, assume.read_median_minutes[cause], assume.spread)
            acts = rng.random() < assume.act_on_offer
            cases.append(Case("", typed, locked_at, locked_at + ask, read, acts))
    for case, employee_id in zip(cases, rng.sample(employees, len(cases)), strict=True):
        case.employee_id = employee_id  # one lock-out per employee in the month
    return sorted(cases, key=lambda c: c.locked_at)


class Month:
    """Plays the planned lock-outs against the engine on a simulated clock."""

    def __init__(
        self,
        runtime: Runtime,
        cases: list[Case],
        poll: timedelta | None,
        reply_seconds: tuple,
        seed: int,
    ) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self.directory = runtime.connectors.directory
        self.cases = {case.employee_id: case for case in cases}
        self.poll = poll
        self.reply_seconds = reply_seconds
        self.rng = random.Random(seed)
        self.seen: set[Lockout] = set()
        self._queue: list[_Scheduled] = []
        self._seq = itertools.count()

    def at(self, moment: datetime, action: Callable[[datetime], None]) -> None:
        """Schedule an action."""
        heapq.heappush(self._queue, _Scheduled(moment, next(self._seq), action))

    def run(self, end: datetime) -> None:
        """Run every scheduled action up to `end`."""
        for case in self.cases.values():
            self.at(case.locked_at, lambda now, c=case: self.lock(c, now))
            self.at(case.ask_at, lambda now, c=case: self.ask(c, now))
        start = min(c.locked_at for c in self.cases.values()).replace(hour=0, minute=0)
        self.at(start, self.sweep)
        if self.poll is not None:
            self.at(start, self.watch)
        while self._queue and self._queue[0].at < end:
            item = heapq.heappop(self._queue)
            item.action(item.at)

    def later(self) -> timedelta:
        """How long an employee takes to answer a message they are reading."""
        return timedelta(seconds=self.rng.uniform(*self.reply_seconds))

    def lock(self, case: Case, now: datetime) -> None:
        """Five wrong passwords."""
        for attempt in range(LOCKOUT_THRESHOLD):
            self.directory.sign_in(case.employee_id, f"wrong-{attempt}", now)  # type: ignore[attr-defined]

    def sweep(self, now: datetime) -> None:
        """Close timed-out conversations, as the server does every minute."""
        self.engine.expire(now)
        self.at(now + SWEEP, self.sweep)

    def watch(self, now: datetime) -> None:
        """One poll of the lock-out watcher."""
        for offer in poll_lockouts(self.engine, self.directory, self.seen, now):  # type: ignore[arg-type]
            case = self.cases[offer.employee_id or ""]
            case.offer_id = offer.interaction_id
            read_at = now + case.read_delay
            if case.acts and read_at < case.ask_at:
                case.following_offer = True
                self.at(read_at + self.later(), lambda when, c=case: self.answer(c, when))
        assert self.poll is not None
        self.at(now + self.poll, self.watch)

    def code(self, employee_id: str) -> str:
        """The latest one-time code on the employee's phone."""
        messages = self.runtime.connectors.notifier.messages_for(employee_id)  # type: ignore[attr-defined]
        body = next(m["body"] for m in reversed(messages) if m["subject"] == "Verification code")
        return CODE.search(body)[1]  # type: ignore[index]

    def answer(self, case: Case, now: datetime, channel: str = "proactive") -> None:
        """The employee replies with the code they received (on the channel they are on)."""
        message = InboundMessage(
            case.employee_id, self.code(case.employee_id), channel, credential=SIMULATION
        )
        reply = self.engine.handle(message, now)
        if reply.outcome == "auto_resolved" and case.unlocked_at is None:
            case.unlocked_at, case.unlocked_by = now, "request" if channel == "slack" else channel
        elif reply.state == "verify":  # the code had expired: a new one was sent
            self.at(now + self.later(), lambda when: self.answer(case, when, channel))
        elif channel == "proactive":  # the offer had timed out: the employee asks instead
            case.following_offer = False
            if case.ask_at <= now:
                self.at(now + self.later(), lambda when: self.ask(case, when))

    def ask(self, case: Case, now: datetime) -> None:
        """The employee's own request, unless they are following the offer or are no longer
        locked out when they get to it."""
        if case.following_offer or not self.directory.is_locked(case.employee_id):
            return
        reply = self.engine.handle(
            InboundMessage(
                case.employee_id, "my account is locked", "slack", credential=SIMULATION
            ),
            now,
        )
        if reply.state == "verify":
            self.at(now + self.later(), lambda when: self.answer(case, when, "slack"))


def offer_outcomes(events_dir: Path) -> Counter:
    """Outcomes of the watcher's offers (proactive interactions the system started), read
    from the event log as the warehouse would."""
    offers: set[str] = set()
    outcomes: dict[str, str] = {}
    for event in read_events(events_dir):
        if event["channel"] != "proactive":
            continue
        if event["event_type"] == "interaction_started" and event.get("trigger"):
            offers.add(event["interaction_id"])
        elif event["event_type"] == "outcome_recorded":
            outcomes[event["interaction_id"]] = event["outcome"]
    return Counter(outcomes.get(offer, "pending") for offer in offers)


def fresh_runtime(folder: Path, models: Path | None, employees: int) -> Runtime:
    """An engine on a newly generated enterprise (reusing a trained model when given)."""
    settings = Settings(data_dir=folder, events_fsync="never")
    if models is not None:
        shutil.copytree(models, settings.models_dir)
    store = EnterpriseStore(settings.state_db)
    generate_enterprise(store, cached_catalogue(settings.catalogue_dir).enterprise, employees, 7)
    store.close()
    return build_runtime(settings, ids=ids_from_seed(7))


def play(
    label: str,
    folder: Path,
    models: Path | None,
    args: argparse.Namespace,
    assume: Assumptions,
    scenario: dict,
) -> None:
    """Simulate the month with one poll interval ('off': no watcher) and print its row."""
    runtime = fresh_runtime(folder, models, args.employees)
    employees = [r["employee_id"] for r in runtime.store.query("select employee_id from people")]
    cases = plan_lockouts(employees, args.days, scenario, assume, args.seed)
    poll = None if label == "off" else timedelta(minutes=float(label))
    began = time.perf_counter()
    month = Month(runtime, cases, poll, scenario["behaviour"]["reply_delay_seconds"], args.seed)
    month.run(datetime.combine(START + timedelta(days=args.days + 1), datetime.min.time(), UTC))
    seconds = time.perf_counter() - began
    runtime.close()
    early = [c for c in cases if c.unlocked_by == "proactive" and c.unlocked_at < c.ask_at]  # type: ignore[operator]
    typed = [c for c in cases if c.typed]
    early_typed = sum(c.typed for c in early)
    locked = [(c.unlocked_at - c.locked_at).total_seconds() / 60 for c in cases if c.unlocked_at]
    offers = offer_outcomes(folder / "events")
    row = (
        label,
        len(cases),
        f"{len(early) / len(cases):.1%}",
        f"{early_typed / max(1, len(typed)):.1%}",
        f"{(len(early) - early_typed) / max(1, len(cases) - len(typed)):.1%}",
        f"{offers['auto_resolved'] / len(cases):.1%}",
        sum(offers.values()),
        offers["abandoned"],
        f"{statistics.median(locked):.1f}",
        len(cases) - len(locked),
        f"{seconds:.0f}",
    )
    print(" | ".join(f"{value!s:>{len(name)}}" for value, name in zip(row, COLUMNS, strict=True)))


def main() -> None:
    """Simulate the month without the watcher and with each poll interval."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--polls", default="off,1,5,15", help="minutes between polls, or off")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    scenario, _ = load_scenario(PROJECT_ROOT / "data" / "simulation")
    assume = Assumptions()
    print(__doc__.split("\n\n")[0])
    print(
        f"{args.employees} employees, {args.days} days from {START}, seed {args.seed}; "
        f"{daily_rate(scenario) * args.employees:.1f} lock-outs per working day (scenario)."
    )
    print(
        f"Assumptions: {assume.typed_share:.0%} typed (noticed at once), the rest stale "
        "credentials on another device; median minutes to the employee's own request "
        f"{assume.ask_median_minutes[0]:g} typed / {assume.ask_median_minutes[1]:g} background, "
        f"to reading an unsolicited message {assume.read_median_minutes[0]:g} / "
        f"{assume.read_median_minutes[1]:g} (lognormal, sigma {assume.spread}); "
        f"{assume.act_on_offer:.0%} act on the offer; replies take "
        f"{scenario['behaviour']['reply_delay_seconds']} s; idle conversations close after "
        f"{Settings().idle_timeout_minutes} min; one-time codes last "
        f"{Settings().otp_ttl_seconds // 60} min.\n"
    )
    print(" | ".join(COLUMNS))
    with tempfile.TemporaryDirectory() as scratch:
        models: Path | None = None
        for n, label in enumerate(args.polls.split(",")):
            folder = Path(scratch) / f"run-{n}"
            play(label.strip(), folder, models, args, assume, scenario)
            models = models or folder / "models"


if __name__ == "__main__":
    main()
