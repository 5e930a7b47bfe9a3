"""Generate the demo enterprise into the embedded store, deterministically from a seed.

The seed file `data/catalogue/enterprise.yml` names the company, its offices, departments,
titles, applications and groups; this module invents the people (names, managers, costs,
registered phones) and their starting state (accounts, groups, installed VPN client).
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass
from typing import Any

from resolver.connectors.embedded import EnterpriseStore, hash_password

VPN_CURRENT_VERSION = "6.2.1"
VPN_OUTDATED_VERSIONS = ("5.3.4", "6.0.2")
OUTDATED_CLIENT_SHARE = 0.15
_LEVEL_WEIGHTS = {1: 0.25, 2: 0.30, 3: 0.25, 4: 0.12, 5: 0.08}
_CALLING_CODES = {"GB": "+44", "US": "+1", "DE": "+49", "IN": "+91", "SG": "+65", "BR": "+55"}


@dataclass
class _Employee:
    employee_id: str
    name: str
    username: str
    department: str
    location: str
    country: str
    level: int
    title: str
    hourly_cost: float
    manager_id: str | None = None


def _pick(rng: random.Random, shares: dict[str, float]) -> str:
    return rng.choices(list(shares), weights=list(shares.values()))[0]


def _username(first: str, last: str, taken: set[str]) -> str:
    base = "".join(c for c in f"{first}.{last}".lower() if c.isalnum() or c == ".")
    name, number = base, 1
    while name in taken:
        number += 1
        name = f"{base}{number}"
    taken.add(name)
    return name


def _people(seed: dict[str, Any], count: int, rng: random.Random) -> list[_Employee]:
    departments = {d["id"]: d for d in seed["departments"]}
    locations = {loc["id"]: loc for loc in seed["locations"]}
    titles = {t["level"]: t for t in seed["titles"]}
    dept_shares = {d: v["share"] for d, v in departments.items() if d != "exec"}
    loc_shares = {loc: v["share"] for loc, v in locations.items()}
    taken: set[str] = set()
    people: list[_Employee] = []

    def add(department: str, level: int, title: str, multiplier: float) -> _Employee:
        first, last = rng.choice(seed["first_names"]), rng.choice(seed["last_names"])
        location = _pick(rng, loc_shares)
        person = _Employee(
            employee_id=f"E{len(people) + 1:06d}",
            name=f"{first} {last}",
            username=_username(first, last, taken),
            department=department,
            location=location,
            country=locations[location]["country"],
            level=level,
            title=title,
            hourly_cost=round(departments[department]["hourly_cost_usd"] * multiplier, 2),
        )
        people.append(person)
        return person

    ceo = add("exec", 7, "Chief Executive Officer", 4.0)
    heads = {}
    for dept in dept_shares:
        head = add(
            dept,
            6,
            f"{titles[6]['name']}, {departments[dept]['name']}",
            titles[6]["cost_multiplier"],
        )
        head.manager_id = ceo.employee_id
        heads[dept] = head
    while len(people) < count:
        level = int(_pick(rng, {str(k): v for k, v in _LEVEL_WEIGHTS.items()}))
        dept = _pick(rng, dept_shares)
        title = f"{titles[level]['name']}, {departments[dept]['name']}"
        add(dept, level, title, titles[level]["cost_multiplier"])
    _assign_managers(people[1 + len(heads) :], heads, rng)
    return people[:count]


def _assign_managers(
    staff: list[_Employee], heads: dict[str, _Employee], rng: random.Random
) -> None:
    """Each person reports to someone more senior in their department, else its head."""
    by_dept_level: dict[tuple[str, int], list[_Employee]] = {}
    for person in staff:
        by_dept_level.setdefault((person.department, person.level), []).append(person)
    for person in staff:
        candidates: list[_Employee] = []
        for level in range(person.level + 1, 6):
            candidates = by_dept_level.get((person.department, level), [])
            if candidates:
                break
        manager = rng.choice(candidates) if candidates else heads[person.department]
        person.manager_id = manager.employee_id


def _owner(people: list[_Employee], department: str, rng: random.Random) -> str:
    senior = [p for p in people if p.department == department and p.level >= 4]
    pool = senior or [p for p in people if p.department == department] or people
    return rng.choice(pool).employee_id


def _resources(seed: dict[str, Any], people: list[_Employee], rng: random.Random) -> list[tuple]:
    rows = []
    for app in seed["applications"]:
        seats = max(1, math.ceil(app["seats_share"] * len(people)))
        owner = _owner(people, app["owner_department"], rng)
        rows.append(
            (
                "application",
                app["id"],
                app["name"],
                app["privilege"],
                owner,
                int(app["installable"]),
                seats,
            )
        )
        if not app["installable"]:  # a web application: access is membership of its users group
            rows.append(
                (
                    "group",
                    f"app-{app['id']}",
                    f"{app['name']} users",
                    app["privilege"],
                    owner,
                    0,
                    None,
                )
            )
    for group in seed["groups"]:
        owner = _owner(people, group["owner_department"], rng)
        rows.append(("group", group["id"], group["name"], group["privilege"], owner, 0, None))
    return rows


def _aliases(seed: dict[str, Any]) -> list[tuple[str, str, str]]:
    rows: dict[str, tuple[str, str, str]] = {}
    for kind, key in (("application", "applications"), ("group", "groups"), ("device", "devices")):
        for item in seed[key]:
            for alias in {item["name"].lower(), *item.get("aliases", [])}:
                rows.setdefault(alias.lower(), (alias.lower(), kind, item["id"]))
    return list(rows.values())


def generate_enterprise(
    store: EnterpriseStore, seed: dict[str, Any], employees: int, rng_seed: int
) -> int:
    """Fill an empty store with a generated enterprise; return the number of employees."""
    if employees < 20:
        raise ValueError("the demo enterprise needs at least 20 employees")
    if not store.is_empty():
        raise ValueError(f"{store.path} already holds an enterprise; start from an empty data dir")
    rng = random.Random(rng_seed)
    people = _people(seed, employees, rng)
    domain = seed["company"]["email_domain"]
    locations = {loc["id"]: loc for loc in seed["locations"]}
    default_groups = [g["id"] for g in seed["groups"] if g["privilege"] == "standard"][:1]
    with store.transaction() as db:
        for p in people:
            phone = f"{_CALLING_CODES.get(p.country, '+1')} 7{rng.randrange(10**8, 10**9)}"
            db.execute(
                "insert into people values (?,?,?,?,?,?,?,?,?,?,?)",
                (
                    p.employee_id,
                    p.username,
                    f"{p.username}@{domain}",
                    p.name,
                    p.department,
                    p.location,
                    p.title,
                    p.level,
                    p.manager_id,
                    p.hourly_cost,
                    phone,
                ),
            )
            db.execute(
                "insert into accounts (employee_id, password_hash) values (?, ?)",
                (p.employee_id, hash_password(f"{rng.getrandbits(128):x}")),
            )
            outdated = rng.random() < OUTDATED_CLIENT_SHARE
            version = rng.choice(VPN_OUTDATED_VERSIONS) if outdated else VPN_CURRENT_VERSION
            db.execute("insert into vpn_clients values (?, ?)", (p.employee_id, version))
            for group in default_groups:
                db.execute("insert into memberships values (?, ?)", (p.employee_id, group))
        db.executemany(
            "insert into resources values (?,?,?,?,?,?,?)", _resources(seed, people, rng)
        )
        db.executemany("insert into aliases values (?,?,?)", _aliases(seed))
        db.executemany(
            "insert into gateways values (?, ?, 1)",
            [(f"gw-{loc}", loc) for loc in locations],
        )
        db.execute(
            "insert or replace into meta values ('vpn_required_version', ?)", (VPN_CURRENT_VERSION,)
        )
        db.execute("insert or replace into meta values ('employees', ?)", (str(len(people)),))
        db.execute("insert or replace into meta values ('seed', ?)", (str(rng_seed),))
    return len(people)
