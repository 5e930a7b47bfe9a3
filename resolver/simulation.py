"""Simulate a company talking to Unticket: realistic conversations driven through the real engine.

Employees start conversations on a simulated clock (weekday and hour seasonality in their own
time zone, holidays, a documented intent mix), phrase them in varied ways with typos, answer the
engine's questions (one-time codes read from their phone's outbox, clarifications, app names),
confirm, reject, come back, give up or ask for a person. Approvers decide, the service desk
works tickets (heavy-tailed working times measured on real incident history, in the requester's
office hours) and resolves each with a close note, category and assignment group drawn from
`data/simulation/resolutions.yml`, and VPN gateway outages flood the engine. Accounts get locked
out some time before their owner asks for an unlock, and the lock-out watcher offers a verified
unlock first: an employee who reads the offer in time answers it instead of asking. The outage
detector polls on the same clock as under `unticket serve`: it declares the gateway outages from
the burst of reports and tells the reporters not told yet. Each employee writes in one language,
drawn from their office's shares in the scenario: their needs, greetings, answers and requests
for a person come from that language's file in `data/simulation/phrasings/` (one-time codes stay
digits). Nothing here writes an event: every event comes from the engine. The same seed and
start date give the same events.
"""

from __future__ import annotations

import heapq
import itertools
import math
import random
import re
import string
import time as time_module
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import yaml

from resolver.connectors.base import Resolution
from resolver.engine import InboundMessage, RequestError
from resolver.identity import SIMULATION
from resolver.outage import OutageDetector
from resolver.proactive import UNLOCK_INTENT, Lockout, poll_lockouts
from resolver.runtime import Runtime, build_runtime, create_enterprise
from resolver.turn import Reply
from settings import PROJECT_ROOT, Settings

EXPIRY_SWEEP = timedelta(minutes=10)
_CODE_IN_BODY = re.compile(r"\b(\d{6})\b")
PHRASINGS_DIR = "phrasings"  # under data/simulation/: one <language>.yml per language
BASE_LANGUAGE = "en"  # every language's file has exactly the keys of this one
# What an employee types besides their needs, each a key of every phrasings file: a greeting,
# yes / no to a ticket offer, confirm / reject after a resolution, an explicit request for a
# person, the name the engine asked for ({name}), the number of a clarification option ({number}).
REPLY_KEYS = ("greeting", "yes", "no", "confirm", "reject", "ask_human", "entity_answer", "choice")

Phrasings = dict[str, list[str]]  # key (an intent or a reply) -> what an employee may type
RESOLUTIONS_FILE = "resolutions.yml"  # under data/simulation/: how the desk fixes tickets
FIXES_PER_INTENT = (3, 6)  # the distinct fixes each intent has, at least and at most
NOTES_PER_FIX = (2, 4)
FALLBACK_INTENT = "human_handoff"  # whose fixes a ticket of no (or an unknown) intent gets
HOST_PREFIXES = ("LT", "WS", "MB")  # laptop, workstation, MacBook: the `{host}` of a note


@dataclass
class Session:
    """One simulated employee working through one need."""

    employee_id: str
    intent: str
    channel: str
    language: str
    slots: dict[str, str]
    started_at: datetime
    interaction_id: str | None = None
    rephrased: int = 0
    wrong_code_sent: bool = False
    recontact: bool = False


@dataclass
class SimulationSummary:
    """What a simulation produced."""

    interactions: int
    messages: int
    outcomes: dict[str, int]
    intents: dict[str, int]
    tickets: int
    start: date
    days: int
    seconds: float = 0.0
    proactive_offers: int = 0  # unlocks the watcher offered
    resolved_before_asked: int = 0  # of those, the ones that unlocked the account
    outages_detected: int = 0  # known outages the detector declared
    outage_notices: int = 0  # reporters it told (proactive interactions of the outage's intent)

    @property
    def interactions_per_second(self) -> float:
        """Throughput of the run."""
        return self.interactions / self.seconds if self.seconds else 0.0


@dataclass(frozen=True)
class OfficeCalendar:
    """An office's working time: its time zone, working day, working weekdays and holidays."""

    zone: ZoneInfo
    opens: time
    closes: time
    weekdays: frozenset[int]
    holidays: frozenset[date]

    def is_working_day(self, day: date) -> bool:
        """Whether the office works on `day` (a working weekday and no holiday)."""
        return day.weekday() in self.weekdays and day not in self.holidays


@dataclass(frozen=True)
class Fix:
    """One way the service desk fixes a kind of ticket: its resolution category, the group
    that applies it, its relative weight and the close notes agents write for it."""

    category: str
    group: str
    weight: float
    notes: tuple[str, ...]


@dataclass(frozen=True)
class DeskResolutions:
    """The fixes of `resolutions.yml`: by intent for tickets, by outage intent for major
    incidents."""

    tickets: dict[str, list[Fix]]
    major_incidents: dict[str, list[Fix]]

    def draw(self, rng: random.Random, intent: str | None, major: bool = False) -> Resolution:
        """A resolution for a ticket of `intent` (a major incident's, when `major`): a fix by
        weight, one of its notes, a device name for its `{host}`."""
        fixes = (
            (self.major_incidents.get(intent or "") if major else None)
            or self.tickets.get(intent or "")
            or self.tickets[FALLBACK_INTENT]
        )
        fix = rng.choices(fixes, weights=[f.weight for f in fixes])[0]
        note = rng.choice(fix.notes)
        if "{host}" in note:
            host = f"{rng.choice(HOST_PREFIXES)}-{rng.randint(1000, 9999)}"
            note = note.replace("{host}", host)
        return Resolution(note, fix.category, fix.group)


@dataclass(order=True)
class _Scheduled:
    at: datetime
    seq: int
    action: Callable[[datetime], None] = field(compare=False)


def ids_from_seed(seed: int) -> Callable[[], str]:
    """A deterministic id factory for reproducible simulations."""
    rng = random.Random(f"ids-{seed}")
    return lambda: f"{rng.getrandbits(128):032x}"


def office_calendars(enterprise: dict[str, Any]) -> dict[str, OfficeCalendar]:
    """Each office's calendar from the catalogue's enterprise (an office may override the
    enterprise's `working_hours`), as the warehouse's working calendar reads it."""
    calendars = {}
    for location in enterprise["locations"]:
        hours = location.get("working_hours", enterprise["working_hours"])
        calendars[location["id"]] = OfficeCalendar(
            zone=ZoneInfo(location["timezone"]),
            opens=time.fromisoformat(hours["start"]),
            closes=time.fromisoformat(hours["end"]),
            weekdays=frozenset(hours["weekdays"]),
            holidays=frozenset(date.fromisoformat(str(d)) for d in location.get("holidays", [])),
        )
    return calendars


def add_working_hours(
    start: datetime, hours: float, calendar: OfficeCalendar, until: datetime
) -> datetime | None:
    """The moment `hours` of the office's working time after `start` (UTC); None when it is not
    before `until`."""
    remaining = timedelta(hours=hours)
    local = start.astimezone(calendar.zone)
    day = local.date()
    while datetime.combine(day, time(), calendar.zone) < until:
        if calendar.is_working_day(day):
            opens = max(local, datetime.combine(day, calendar.opens, calendar.zone))
            closes = datetime.combine(day, calendar.closes, calendar.zone)
            if opens + remaining <= closes:
                moment = (opens + remaining).astimezone(UTC)
                return moment if moment < until else None
            remaining -= max(closes - opens, timedelta())
        day += timedelta(days=1)
    return None


def desk_working_hours(rng: random.Random, resolution: dict[str, float], quick: float) -> float:
    """Working hours from a ticket's opening to its resolution: within `quick` hours (uniform) at
    the desk's first touch with probability `first_touch`, else lognormal (`median`, `sigma`)."""
    if rng.random() < resolution["first_touch"]:
        return rng.uniform(0.0, quick)
    return resolution["median"] * math.exp(rng.gauss(0.0, resolution["sigma"]))


def employee_language(seed: int, employee_id: str, shares: dict[str, float]) -> str:
    """The one language an employee writes in, drawn from their office's `shares` with a stream
    of their own: the same for every run with `seed`, whatever else the simulation draws."""
    rng = random.Random(f"language-{seed}-{employee_id}")
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def add_typos(text: str, rng: random.Random, count: int) -> str:
    """Swap, drop or double a letter in `count` random longer words."""
    words = text.split(" ")
    candidates = [i for i, w in enumerate(words) if len(w) > 3 and w.isalpha()]
    for index in rng.sample(candidates, min(count, len(candidates))):
        word, at = words[index], rng.randrange(1, len(words[index]) - 1)
        operation = rng.choice(("swap", "drop", "double"))
        if operation == "swap":
            word = word[: at - 1] + word[at] + word[at - 1] + word[at + 1 :]
        elif operation == "drop":
            word = word[:at] + word[at + 1 :]
        else:
            word = word[:at] + word[at] + word[at:]
        words[index] = word
    return " ".join(words)


class Simulator:
    """Plays a whole company against the engine for a number of days."""

    def __init__(
        self,
        runtime: Runtime,
        scenario: dict[str, Any],
        phrasings: dict[str, Phrasings],
        seed: int,
        start: date,
        days: int,
        *,
        resolutions: DeskResolutions,
    ) -> None:
        self.runtime = runtime
        self.engine = runtime.engine
        self.connectors = runtime.connectors
        self.scenario = scenario
        self.behaviour = scenario["behaviour"]
        self.phrasings = phrasings
        self.rng = random.Random(seed)
        # the desk's own stream: calibrating it leaves every conversation as it was
        self.desk_rng = random.Random(f"desk-{seed}")
        self.resolutions = resolutions
        self.start = start
        self.days = days
        self.end = datetime.combine(start + timedelta(days=days), time(), UTC)
        self._queue: list[_Scheduled] = []
        self._seq = itertools.count()
        self._messages = 0
        self._tickets_seen: set[str] = set()
        self._usable: dict[tuple[str, str, frozenset[str]], list[str]] = {}
        self.lockouts = scenario["lockouts"]
        self._lockouts_seen: set[Lockout] = set()
        self._employees = self._load_employees()
        self._offices = {e["employee_id"]: e["location"] for e in self._employees}
        self._languages = self._employee_languages(seed)
        self._calendars = office_calendars(self.engine.catalogue.enterprise)
        self.desk = scenario["service_desk"]
        self.detector = OutageDetector(self.engine)
        self._detecting = self.engine.settings.detect_outages
        self._outage_poll = timedelta(seconds=self.engine.settings.outage_poll_seconds)
        self._outage_poll_due = False
        self._degraded: set[str] = set()  # offices whose VPN gateway is failing right now

    # -- set-up -----------------------------------------------------------------------------

    def _load_employees(self) -> list[dict[str, Any]]:
        rows = self.runtime.store.query(
            "select employee_id, location from people order by employee_id"
        )
        return [dict(row) for row in rows]

    def _employee_languages(self, seed: int) -> dict[str, str]:
        """Each employee's one language, drawn from their office's shares in the scenario."""
        shares = self.scenario["languages"]
        unknown = sorted(set(self._offices.values()) - set(shares))
        if unknown:
            raise ValueError(f"scenario.yml: `languages` has no shares for the offices {unknown}")
        return {
            employee_id: employee_language(seed, employee_id, shares[office])
            for employee_id, office in self._offices.items()
        }

    def _schedule(self, at: datetime, action: Callable[[datetime], None]) -> None:
        heapq.heappush(self._queue, _Scheduled(at, next(self._seq), action))

    def _local(self, employee: dict[str, Any], day: date, hour: float) -> datetime:
        local = datetime.combine(day, time(), self._calendars[employee["location"]].zone)
        return (local + timedelta(hours=hour)).astimezone(UTC)

    def _plan_day(self, day: date) -> None:
        weekday_factor = self.scenario["weekday_factor"][day.weekday()]
        rate = self.scenario["interactions_per_employee_per_workday"] * weekday_factor
        expected = rate * len(self._employees)
        count = max(0, round(self.rng.gauss(expected, math.sqrt(expected))))
        hours = list(range(24))
        for _ in range(count):
            employee = self.rng.choice(self._employees)
            if day in self._calendars[employee["location"]].holidays and self.rng.random() < 0.85:
                continue
            hour = (
                self.rng.choices(hours, weights=self.scenario["hour_weight"])[0] + self.rng.random()
            )
            at = self._local(employee, day, hour)
            intent = self._pick_intent(day)
            if intent == "account_unlock" and self._really_locked():
                self._plan_lockout(employee, at)
            else:
                self._schedule(at, lambda now, e=employee, i=intent: self._begin(e, i, now))

    def _really_locked(self) -> bool:
        return self.rng.random() >= self.behaviour["not_actually_locked"]

    def _plan_lockout(
        self, employee: dict[str, Any], ask_at: datetime, recontact: bool = False
    ) -> None:
        """Lock the account some minutes before its owner would ask; they ask only if it is
        still locked by then (the watcher's offer may have unlocked it)."""
        minutes = self.rng.uniform(*self.lockouts["asks_after_minutes"])
        employee_id = employee["employee_id"]
        self._schedule(
            ask_at - timedelta(minutes=minutes), lambda now: self._lock_out(employee_id, now)
        )
        self._schedule(ask_at, lambda now: self._ask_unlock_if_locked(employee, now, recontact))

    def _ask_unlock_if_locked(
        self, employee: dict[str, Any], now: datetime, recontact: bool
    ) -> None:
        if self.connectors.directory.is_locked(employee["employee_id"]):
            self._begin(employee, "account_unlock", now, recontact=recontact)

    def _watch_lockouts(self, now: datetime) -> None:
        """One poll of the lock-out watcher; each offer is read, and answered, some time later
        by most employees."""
        for offer in poll_lockouts(
            self.engine, self.connectors.directory, self._lockouts_seen, now
        ):
            minutes = self.rng.uniform(*self.lockouts["reads_offer_after_minutes"])
            if self.rng.random() < self.lockouts["acts_on_offer"]:
                read_at = now + timedelta(minutes=minutes)
                employee_id = offer.employee_id or ""
                self._schedule(read_at, lambda at, e=employee_id: self._answer_offer_code(e, at))
        poll = timedelta(minutes=self.lockouts["watcher_poll_minutes"])
        if now + poll < self.end:
            self._schedule(now + poll, self._watch_lockouts)

    def _answer_offer_code(self, employee_id: str, now: datetime) -> None:
        """Reply to the offer with the code on the phone, if the account is still locked."""
        if now >= self.end or not self.connectors.directory.is_locked(employee_id):
            return
        messages = self.connectors.notifier.messages_for(employee_id)  # type: ignore[attr-defined]
        codes = [m["body"] for m in messages if m["subject"] == "Verification code"]
        match = _CODE_IN_BODY.search(codes[-1]) if codes else None
        if match:
            self.engine.handle(
                InboundMessage(employee_id, match[1], "proactive", credential=SIMULATION), now
            )
            self._messages += 1

    def _pick_intent(self, day: date) -> str:
        mix = dict(self.scenario["intent_mix"])
        if day.weekday() == 0:
            for intent, boost in self.scenario["monday_boost"].items():
                mix[intent] *= boost
        return self.rng.choices(list(mix), weights=list(mix.values()))[0]

    def _plan_incidents(self) -> None:
        """Each gateway outage: it fails at its start (employees notice at once), its health
        probe sees it down `probe_lag_minutes` later, and it is fixed after `hours`."""
        for incident in self.scenario["incidents"]:
            if incident["day"] >= self.days:
                continue
            gateway = incident["gateway"]
            location = gateway.removeprefix("gw-")
            day = self.start + timedelta(days=incident["day"])
            begin = self._local({"location": location}, day, incident["local_start_hour"])
            finish = begin + timedelta(hours=incident["hours"])
            self._schedule(begin, lambda now, o=location: self._degraded.add(o))
            self._schedule(
                begin + timedelta(minutes=incident["probe_lag_minutes"]),
                lambda now, g=gateway: self.connectors.vpn.set_gateway_health(g, False),
            )
            self._schedule(finish, lambda now, g=gateway, o=location: self._end_outage(g, o, now))
            affected = [e for e in self._employees if e["location"] == location]
            extra = round(len(affected) * incident["extra_vpn_contacts_per_employee"])
            window = incident["hours"] * 3600
            for _ in range(extra):
                offset = window * (self.rng.random() ** 2)  # front-loaded: most notice early
                at = begin + timedelta(seconds=offset)
                employee = self.rng.choice(affected)
                self._schedule(at, lambda now, e=employee: self._begin(e, "vpn_issue", now))

    def _end_outage(self, gateway: str, location: str, now: datetime) -> None:
        """The gateway is fixed: the desk resolves its incident and the office's known outage's
        (the detector's own incident when it declared the outage before the probe saw it)."""
        self._degraded.discard(location)
        self.connectors.vpn.set_gateway_health(gateway, True)
        incident = self.connectors.ticketing.open_outage(f"vpn:{gateway}")
        known = self.engine.outages.open_for("vpn_issue", location)
        for ticket_id in sorted({t.ticket_id for t in (incident, known) if t is not None}):
            fix = self.resolutions.draw(self.desk_rng, "vpn_issue", major=True)
            self.engine.update_ticket(ticket_id, "resolved", now, fix)

    def _outage_poll_after(self, reply: Reply, now: datetime) -> None:
        """Poll the outage detector at its next tick (every `outage_poll_seconds` from the
        start, as `unticket serve` polls) after an interaction of an outage intent. The ticks
        with no new report are skipped: only a new report can make a spike (to stay fast)."""
        if not self._detecting or self._outage_poll_due:
            return
        if reply.intent not in self.engine.settings.outage_intents:
            return
        origin = datetime.combine(self.start, time(), UTC)
        self._outage_poll_due = True
        self._schedule(
            origin + ((now - origin) // self._outage_poll + 1) * self._outage_poll,
            self._detect_outages,
        )

    def _detect_outages(self, now: datetime) -> None:
        """One poll of the outage detector. An outage with no simulated cause (a chance burst)
        is resolved by the desk after `unfounded_outage_hours`."""
        self._outage_poll_due = False
        for outage in self.detector.poll(now):
            if outage.intent != "vpn_issue" or outage.location not in self._degraded:
                hours = self.desk["unfounded_outage_hours"]
                fix = self.resolutions.draw(self.desk_rng, outage.intent, major=True)
                self._schedule(
                    now + timedelta(hours=hours),
                    lambda at, t=outage.ticket_id, r=fix: self.engine.update_ticket(
                        t, "resolved", at, r
                    ),
                )

    def _sweep(self, now: datetime) -> None:
        self.engine.expire(now)
        if now + EXPIRY_SWEEP < self.end:
            self._schedule(now + EXPIRY_SWEEP, self._sweep)

    # -- employees --------------------------------------------------------------------------

    def _begin(
        self, employee: dict[str, Any], intent: str, now: datetime, recontact: bool = False
    ) -> None:
        channel = self._weighted(self.scenario["channel_mix"])
        session = Session(
            employee["employee_id"],
            intent,
            channel,
            self._languages[employee["employee_id"]],
            self._slots(employee, intent),
            now,
            recontact=recontact,
        )
        if self.rng.random() < self.behaviour["greet_first"]:
            self._send(session, self._say(session, "greeting"), now, then_request=True)
        else:
            self._send(session, self._phrase(session), now)

    def _lock_out(self, employee_id: str, now: datetime) -> None:
        for attempt in range(5):
            self.connectors.directory.sign_in(employee_id, f"not-the-password-{attempt}", now)  # type: ignore[attr-defined]

    def _slots(self, employee: dict[str, Any], intent: str) -> dict[str, str]:
        enterprise = self.engine.catalogue.enterprise
        slots: dict[str, str] = {}
        if intent == "access_request":
            privileged = self.rng.random() < self.behaviour["privileged_access_share"]
            groups = [
                g for g in enterprise["groups"] if (g["privilege"] == "privileged") == privileged
            ]
            slots["group"] = self.rng.choice(groups)["name"]
        elif intent == "software_request":
            slots["application"] = self.rng.choice(
                [a for a in enterprise["applications"] if a["installable"]]
            )["name"]
        elif intent in ("hardware_issue", "hardware_request"):
            slots["device"] = self.rng.choice(enterprise["devices"])["name"].lower()
        elif intent == "ticket_status":
            tickets = self.connectors.ticketing.tickets_of(employee["employee_id"])
            if tickets:
                slots["ticket"] = tickets[0].ticket_id
        return slots

    def _phrase(self, session: Session) -> str:
        """A phrasing of the session's need, its slots filled, sometimes with typos."""
        options = self._phrasings_for(session.language, session.intent, frozenset(session.slots))
        text = self.rng.choice(options).format(**session.slots)
        if self.rng.random() < self.behaviour["typo"]:
            text = add_typos(text, self.rng, self.rng.choice((1, 1, 2)))
        return text

    def _phrasings_for(self, language: str, intent: str, slots: frozenset[str]) -> list[str]:
        """The language's phrasings of the intent whose placeholders are all among the slots
        (cached)."""
        key = (language, intent, slots)
        if key not in self._usable:
            phrasings = self.phrasings[language][intent]
            usable = [p for p in phrasings if placeholders(p) <= slots]
            self._usable[key] = usable or [p for p in phrasings if not placeholders(p)]
        return self._usable[key]

    def _say(self, session: Session, key: str, **fields: object) -> str:
        """One of the session's language's replies under `key` (see REPLY_KEYS), filled in."""
        return self.rng.choice(self.phrasings[session.language][key]).format(**fields)

    def _send(self, session: Session, text: str, now: datetime, then_request: bool = False) -> None:
        if now >= self.end:
            return
        try:
            reply = self.engine.handle(
                InboundMessage(session.employee_id, text, session.channel, credential=SIMULATION),
                now,
            )
        except RequestError:
            return
        self._messages += 1
        session.interaction_id = reply.interaction_id
        self._watch_ticket(reply, session.employee_id, now)
        self._outage_poll_after(reply, now)
        if then_request and reply.state == "new":
            self._later(session, now, lambda at: self._send(session, self._phrase(session), at))
            return
        self._react(session, reply.state, reply, now)

    def _later(
        self,
        session: Session,
        now: datetime,
        action: Callable[[datetime], None],
        seconds: tuple | None = None,
    ) -> None:
        low, high = seconds or self.behaviour["reply_delay_seconds"]
        self._schedule(now + timedelta(seconds=self.rng.uniform(low, high)), action)

    def _react(self, session: Session, state: str, reply: Reply, now: datetime) -> None:
        """Decide what the employee does next, given where the conversation stands."""
        if state == "closed":
            return
        if state == "approval":
            self._approvers_decide(session, reply.approval_id or "", now)
            return
        if state == "feedback":
            self._give_feedback(session, reply.outcome, now)
            return
        if self.rng.random() < self.behaviour["abandon_at_prompt"]:
            return
        if self.rng.random() < self.behaviour["ask_human_midway"]:
            self._later(
                session,
                now,
                lambda at: self._send(session, self._say(session, "ask_human"), at),
            )
            return
        handler = {
            "verify": self._answer_code,
            "clarify": self._answer_clarification,
            "need_entity": self._answer_entity,
            "offer_ticket": self._answer_offer,
            "new": self._try_again,
        }[state]
        handler(session, reply, now)

    def _answer_code(self, session: Session, reply: Reply, now: datetime) -> None:
        messages = self.connectors.notifier.messages_for(session.employee_id)  # type: ignore[attr-defined]
        match = _CODE_IN_BODY.search(messages[-1]["body"]) if messages else None
        code = match[1] if match else "000000"
        if not session.wrong_code_sent and self.rng.random() < self.behaviour["wrong_code_first"]:
            session.wrong_code_sent = True
            code = f"{(int(code) + 1) % 10**6:06d}"
        self._later(session, now, lambda at: self._send(session, code, at))

    def _answer_clarification(self, session: Session, reply: Reply, now: datetime) -> None:
        if session.intent in reply.options:
            number = reply.options.index(session.intent) + 1
            answer = self._say(session, "choice", number=number)
        else:
            session.rephrased += 1
            answer = self._phrase(session)
        self._later(session, now, lambda at: self._send(session, answer, at))

    def _answer_entity(self, session: Session, reply: Reply, now: datetime) -> None:
        name = session.slots.get("group") or session.slots.get("application")
        if name is None:
            name = self.rng.choice(self.engine.catalogue.enterprise["groups"])["name"]
            session.slots["group"] = name
        answer = self._say(session, "entity_answer", name=name)
        self._later(session, now, lambda at: self._send(session, answer, at))

    def _answer_offer(self, session: Session, reply: Reply, now: datetime) -> None:
        accepts = self.rng.random() < self.behaviour["accept_ticket_offer"]
        answer = self._say(session, "yes" if accepts else "no")
        self._later(session, now, lambda at: self._send(session, answer, at))

    def _try_again(self, session: Session, reply: Reply, now: datetime) -> None:
        if (
            session.rephrased < 2
            and self.rng.random() < self.behaviour["rephrase_when_not_understood"]
        ):
            session.rephrased += 1
            text = self._phrase(session)
        elif self.rng.random() < self.behaviour["ask_human_when_stuck"]:
            text = self._say(session, "ask_human")
        else:
            return
        self._later(session, now, lambda at: self._send(session, text, at))

    def _give_feedback(self, session: Session, outcome: str, now: datetime) -> None:
        odds = self.behaviour["feedback"].get(outcome, {"confirm": 0.5, "reject": 0.1})
        draw = self.rng.random()
        low, high = self.behaviour["feedback_delay_minutes"]
        delay = (low * 60, high * 60)
        if draw < odds["confirm"]:
            self._later(
                session,
                now,
                lambda at: self._send(session, self._say(session, "confirm"), at),
                delay,
            )
        elif draw < odds["confirm"] + odds["reject"]:
            self._later(
                session,
                now,
                lambda at: self._send(session, self._say(session, "reject"), at),
                delay,
            )
            return
        if not session.recontact and self.rng.random() < self.behaviour["recontact"].get(
            outcome, 0.0
        ):
            low_h, high_h = self.behaviour["recontact_delay_hours"]
            at = now + timedelta(hours=self.rng.uniform(low_h, high_h))
            employee = {"employee_id": session.employee_id}
            if session.intent == "account_unlock":  # locked out again
                self._plan_lockout(employee, at, recontact=True)
                return
            self._schedule(
                at, lambda when: self._begin(employee, session.intent, when, recontact=True)
            )

    def _approvers_decide(self, session: Session, approval_id: str, now: datetime) -> None:
        approval = self.connectors.approvals.get(approval_id)
        if approval is None:
            return
        resource = self.connectors.resources.get_resource(
            approval.resource_type, approval.resource_id
        )
        privilege = resource.privilege if resource else "standard"
        for approver in approval.approvers.values():
            hours = self.behaviour["approval_delay_hours_median"] * math.exp(self.rng.gauss(0, 0.9))
            approve = self.rng.random() < self.behaviour["approve_probability"][privilege]
            decision = "approved" if approve else "denied"
            self._schedule(
                now + timedelta(hours=hours),
                lambda at, a=approver, d=decision: self._decide(session, approval_id, a, d, at),
            )

    def _decide(
        self, session: Session, approval_id: str, approver: str, decision: str, now: datetime
    ) -> None:
        if now >= self.end:
            return
        try:
            result = self.engine.decide_approval(approver, approval_id, decision, SIMULATION, now)
        except RequestError:
            return  # someone else already denied it
        if result.status == "approved":
            convo = self.engine.conversations.get(session.interaction_id or "")
            if convo is not None and convo.state == "feedback":
                self._give_feedback(session, convo.outcome or "auto_resolved", now)

    # -- service desk -----------------------------------------------------------------------

    def _watch_ticket(self, reply: Reply, employee_id: str, now: datetime) -> None:
        """The desk picks a new ticket up and resolves it, with a fix drawn for its intent,
        after a working time drawn for its priority, both counted in the working hours of the
        employee's office."""
        ticket_id = reply.ticket_id
        if not ticket_id or ticket_id in self._tickets_seen:
            return
        self._tickets_seen.add(ticket_id)
        ticket = self.connectors.ticketing.get_ticket(ticket_id)
        if ticket is None or ticket.priority == "P1":
            return  # major incidents close when the outage ends
        resolution = self.desk["resolution_working_hours"][ticket.priority]
        rng = self.desk_rng
        hours = desk_working_hours(rng, resolution, self.desk["first_touch_within_hours"])
        pickup = min(hours / 2, rng.uniform(*self.desk["pickup_working_minutes"]) / 60)
        fix = self.resolutions.draw(rng, ticket.intent)
        calendar = self._calendars[self._offices[employee_id]]
        for after, status, resolution in ((pickup, "in_progress", None), (hours, "resolved", fix)):
            at = add_working_hours(now, after, calendar, self.end)
            if at is not None:
                self._schedule(
                    at,
                    lambda when, s=status, r=resolution: self.engine.update_ticket(
                        ticket_id, s, when, r
                    ),
                )

    def _weighted(self, shares: dict[str, float]) -> str:
        return self.rng.choices(list(shares), weights=list(shares.values()))[0]

    # -- running ----------------------------------------------------------------------------

    def run(self, on_day: Callable[[int], None] | None = None) -> SimulationSummary:
        """Run the whole simulation; `on_day` is called as each simulated day completes."""
        for offset in range(self.days):
            self._plan_day(self.start + timedelta(days=offset))
        self._plan_incidents()
        self._schedule(datetime.combine(self.start, time(), UTC), self._sweep)
        self._schedule(datetime.combine(self.start, time(), UTC), self._watch_lockouts)
        day_done = datetime.combine(self.start, time(), UTC) + timedelta(days=1)
        while self._queue:
            item = heapq.heappop(self._queue)
            while item.at >= day_done:
                if on_day:
                    on_day(1)
                day_done += timedelta(days=1)
            if item.at < self.end:
                item.action(item.at)
        self.engine.expire(self.end)  # conversations still open at the end stay pending
        return self._summary()

    def _summary(self) -> SimulationSummary:
        rows = self.runtime.store.query(
            "select channel, json_extract(state, '$.outcome') as outcome, "
            "json_extract(state, '$.intent') as intent from conversations"
        )
        proactive = [r for r in rows if r["channel"] == "proactive"]
        offers = [r["outcome"] for r in proactive if r["intent"] == UNLOCK_INTENT]
        tickets = self.runtime.store.query_one("select count(*) as n from tickets")
        outages = self.runtime.store.query_one("select count(*) as n from known_outages")
        return SimulationSummary(
            interactions=len(rows),
            messages=self._messages,
            outcomes=dict(Counter(r["outcome"] for r in rows).most_common()),
            intents=dict(Counter(r["intent"] or "none" for r in rows).most_common()),
            tickets=tickets["n"] if tickets else 0,
            start=self.start,
            days=self.days,
            proactive_offers=len(offers),
            resolved_before_asked=offers.count("auto_resolved"),
            outages_detected=outages["n"] if outages else 0,
            outage_notices=len(proactive) - len(offers),
        )


def run_simulation(
    settings: Settings,
    *,
    employees: int,
    days: int,
    seed: int,
    start: date,
    on_day: Callable[[int], None] | None = None,
) -> SimulationSummary:
    """Generate an enterprise into an empty data dir and simulate it; events are not fsynced
    one by one (a simulation is a bulk load; a killed run is simply run again), and the LLM
    provider, when one is configured, is left out: simulated employees spend no tokens."""
    bulk = settings.model_copy(update={"events_fsync": "never", "llm_base_url": None})
    create_enterprise(bulk, employees, seed)
    runtime = build_runtime(bulk, ids=ids_from_seed(seed))
    directory = PROJECT_ROOT / "data" / "simulation"
    scenario, phrasings = load_scenario(directory)
    resolutions = load_resolutions(directory / RESOLUTIONS_FILE, list(scenario["intent_mix"]))
    began = time_module.perf_counter()
    try:
        simulator = Simulator(
            runtime, scenario, phrasings, seed, start, days, resolutions=resolutions
        )
        summary = simulator.run(on_day)
    finally:
        runtime.close()
    summary.seconds = time_module.perf_counter() - began
    return summary


def load_scenario(directory: Path) -> tuple[dict[str, Any], dict[str, Phrasings]]:
    """Read the simulator's scenario and its phrasings by language from `data/simulation/`."""
    scenario = yaml.safe_load((directory / "scenario.yml").read_text(encoding="utf-8"))
    phrasings = load_phrasings(directory / PHRASINGS_DIR)
    needed = set(scenario["intent_mix"]) | set(REPLY_KEYS)
    missing = sorted(needed - set(phrasings[BASE_LANGUAGE]))
    if missing:
        raise ValueError(f"{PHRASINGS_DIR}/{BASE_LANGUAGE}.yml has no phrasings for {missing}")
    for office, shares in scenario["languages"].items():
        unwritten = sorted(set(shares) - set(phrasings))
        if unwritten:
            raise ValueError(
                f"scenario.yml: the office {office!r} writes {unwritten}, which have no file in "
                f"{PHRASINGS_DIR}/"
            )
    return scenario, phrasings


def load_resolutions(path: Path, intents: list[str]) -> DeskResolutions:
    """Read `resolutions.yml`: under `tickets`, 3-6 distinct fixes for each of `intents`
    (and `human_handoff`, the fallback); under `major_incidents`, fixes by outage intent. Each
    fix has a `category`, a `group`, a positive `weight` and 2-4 distinct `notes`; a ValueError
    names the intent and fix that are not so."""
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(content, dict) or not isinstance(content.get("tickets"), dict):
        raise ValueError(f"{path.name} needs `tickets:`, a mapping of intents to fixes")
    missing = sorted({*intents, FALLBACK_INTENT} - set(content["tickets"]))
    if missing:
        raise ValueError(f"{path.name}: `tickets` has no fixes for the intents {missing}")
    tickets = {
        intent: _fixes(path.name, intent, entries, FIXES_PER_INTENT)
        for intent, entries in content["tickets"].items()
    }
    major = {
        intent: _fixes(path.name, intent, entries, (1, FIXES_PER_INTENT[1]))
        for intent, entries in (content.get("major_incidents") or {}).items()
    }
    return DeskResolutions(tickets, major)


def _fixes(name: str, intent: str, entries: object, count: tuple[int, int]) -> list[Fix]:
    """One intent's fixes, checked: `count` (at least, at most) distinct well-formed fixes."""
    low, high = count
    if not isinstance(entries, list) or not low <= len(entries) <= high:
        raise ValueError(f"{name}: {intent!r} needs a list of {low}-{high} fixes")
    fixes = [_fix(name, intent, entry) for entry in entries]
    if len(set(fixes)) != len(fixes):
        raise ValueError(f"{name}: {intent!r} lists a fix twice")
    return fixes


def _fix(name: str, intent: str, entry: object) -> Fix:
    """One fix, checked: category and group text, a positive weight, 2-4 distinct notes."""
    low, high = NOTES_PER_FIX
    where = f"{name}: a fix of {intent!r}"
    if not isinstance(entry, dict) or set(entry) != {"category", "group", "weight", "notes"}:
        raise ValueError(f"{where} needs exactly category, group, weight and notes")
    notes = entry["notes"]
    if not all(isinstance(entry[key], str) and entry[key] for key in ("category", "group")):
        raise ValueError(f"{where} needs a category and a group")
    if not isinstance(entry["weight"], int | float) or entry["weight"] <= 0:
        raise ValueError(f"{where} ({entry['category']}) needs a positive weight")
    if (
        not isinstance(notes, list)
        or not low <= len(set(notes)) == len(notes) <= high
        or not all(isinstance(note, str) and note for note in notes)
    ):
        raise ValueError(f"{where} ({entry['category']}) needs {low}-{high} distinct notes")
    return Fix(entry["category"], entry["group"], float(entry["weight"]), tuple(notes))


def load_phrasings(directory: Path) -> dict[str, Phrasings]:
    """Every language's phrasings (`<language>.yml`), each checked against English's keys."""
    paths = {path.stem: path for path in sorted(directory.glob("*.yml"))}
    if BASE_LANGUAGE not in paths:
        raise ValueError(f"{directory} has no {BASE_LANGUAGE}.yml")
    phrasings = {language: read_phrasings(path) for language, path in paths.items()}
    for language, path in paths.items():
        name = f"{directory.name}/{path.name}"
        check_phrasings(name, phrasings[language], phrasings[BASE_LANGUAGE])
    return phrasings


def read_phrasings(path: Path) -> Phrasings:
    """One language's file: a mapping of keys to non-empty lists of strings."""
    name = f"{path.parent.name}/{path.name}"
    content = yaml.safe_load(path.read_text(encoding="utf-8"))
    if not isinstance(content, dict):
        raise ValueError(f"{name} is not a mapping of keys to phrasings")
    for key, texts in content.items():
        if not texts or not isinstance(texts, list) or not all(isinstance(t, str) for t in texts):
            raise ValueError(f"{name}: {key!r} is not a non-empty list of strings")
    return content


def check_phrasings(name: str, phrasings: Phrasings, english: Phrasings) -> None:
    """Raise a ValueError naming the file (`name`) and key where a language's phrasings do not
    match English's: the same keys, no placeholder English does not use for a key, every
    placeholder all of English's phrasings of a key use, and a phrasing without placeholders
    where English has one (a need with no slot to fill must still be sayable)."""
    missing, extra = sorted(set(english) - set(phrasings)), sorted(set(phrasings) - set(english))
    if missing:
        raise ValueError(f"{name} has no phrasings for {missing}, which en.yml has")
    if extra:
        raise ValueError(f"{name} has keys en.yml does not have: {extra}")
    for key, texts in phrasings.items():
        used = [placeholders(text) for text in english[key]]
        allowed, required = frozenset().union(*used), frozenset.intersection(*used)
        for text in texts:
            if not required <= placeholders(text) <= allowed:
                raise ValueError(
                    f"{name}: {key!r} phrasing {text!r} must use {sorted(required)} and only "
                    f"{sorted(allowed)}"
                )
        if frozenset() in used and all(placeholders(text) for text in texts):
            raise ValueError(f"{name}: {key!r} needs a phrasing without placeholders")


def placeholders(text: str) -> frozenset[str]:
    """The names of a phrasing's `{placeholders}`."""
    return frozenset(field for _, field, _, _ in string.Formatter().parse(text) if field)
