"""Does an article learned from resolved escalations deflect? Six simulated weeks, end to end.

In a throw-away data dir: simulate four weeks of a small enterprise (`resolver.simulation`, what
`unticket simulate` runs), ingest and build the warehouse (the pipeline's steps), draft articles
from the escalations the simulated service desk resolved (`learning.drafts.refresh_drafts`, the
nightly step), approve the largest draft of an intent the engine answers from articles (not a
playbook's), simulate two more weeks in the same data dir (the engine now answers with the
learned article), rebuild, and print: the drafts made, the approved one, and from
marts.kpi_article_deflection_daily its answers and deflections after the approval, beside the
escalations of its cluster in the weeks before.

Run: .venv/bin/python -m bench.learning_drafts [--employees 1200] [--seed 7]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from contextlib import closing
from datetime import UTC, date, datetime, timedelta
from datetime import time as clock
from pathlib import Path

import duckdb

from catalogue import Catalogue, load_catalogue
from learning.drafts import (
    Draft,
    approval_log,
    approve_draft,
    draft_intents,
    list_drafts,
    open_drafts,
    refresh_drafts,
)
from pipelines import steps
from pipelines.transform import build_state_path
from pipelines.warehouse import connect
from resolver.runtime import build_runtime
from resolver.simulation import (
    RESOLUTIONS_FILE,
    Simulator,
    ids_from_seed,
    load_resolutions,
    load_scenario,
    run_simulation,
)
from settings import PROJECT_ROOT, Settings

START = date(2026, 9, 7)  # a Monday
DAYS_BEFORE = 28
DAYS_AFTER = 14
REVIEWER = "bench-reviewer"
ARTICLE_KINDS = ("article", "knowledge_search")  # intents the engine answers from articles

DEFLECTION_SQL = """
select
    coalesce(sum(answered), 0), coalesce(sum(deflected), 0), coalesce(sum(confirmed), 0),
    coalesce(sum(rejected), 0), coalesce(sum(escalated_after), 0)
from marts.kpi_article_deflection_daily
where article_id = $article_id and days_since_approval >= 0
"""
# The approved draft's intent over the weeks before and after the approval: interactions and
# those escalated, for the learned article's answers to be read against.
INTENT_SQL = """
select
    count(*) filter (where started_at < $approved_at),
    count(*) filter (where started_at < $approved_at and outcome = 'escalated'),
    count(*) filter (where started_at >= $approved_at),
    count(*) filter (where started_at >= $approved_at and outcome = 'escalated')
from marts.fct_interactions
where intent = $intent and outcome <> 'pending'
"""


def build(settings: Settings) -> None:
    """Ingest the event log and build the warehouse: the pipeline's own steps."""
    steps.ingest(settings)
    steps.transform(settings)


def continue_simulation(settings: Settings, days: int, seed: int, start: date) -> int:
    """Simulate more days in a data dir that already holds an enterprise (what `run_simulation`
    does, without generating one); a new seed gives new event ids. Return the interactions in
    the data dir (the simulator counts its store's conversations: these days' and earlier)."""
    runtime = build_runtime(settings, ids=ids_from_seed(seed))  # with the learned articles
    directory = PROJECT_ROOT / "data" / "simulation"
    scenario, phrasings = load_scenario(directory)
    resolutions = load_resolutions(directory / RESOLUTIONS_FILE, list(scenario["intent_mix"]))
    try:
        simulator = Simulator(
            runtime, scenario, phrasings, seed, start, days, resolutions=resolutions
        )
        return simulator.run(None).interactions
    finally:
        runtime.close()


def article_draft(drafts: list[Draft], catalogue: Catalogue) -> Draft | None:
    """The draft with the most tickets whose intent the engine answers from articles (its
    own or a knowledge search), not by a playbook."""
    answered = [d for d in drafts if catalogue.intent(d.intent).handling_kind in ARTICLE_KINDS]
    return answered[0] if answered else None  # list_drafts: the most tickets first


def warehouse_rows(settings: Settings, sql: str, parameters: dict) -> tuple:
    """One row of a query on the working warehouse (with its build state attached)."""
    path = settings.work_warehouse_path
    with duckdb.connect(str(path), read_only=True) as warehouse:
        warehouse.execute(f"attach '{build_state_path(path)}' as build_state (read_only)")
        return warehouse.execute(sql, parameters).fetchone()


def run(data_dir: Path, employees: int, seed: int) -> None:
    """Simulate, draft, approve, simulate on, rebuild and print the figures."""
    settings = Settings(data_dir=data_dir, events_fsync="never")
    catalogue = load_catalogue(settings.catalogue_dir)
    began = time.perf_counter()
    summary = run_simulation(
        settings, employees=employees, days=DAYS_BEFORE, seed=seed, start=START
    )
    print(
        f"simulated {DAYS_BEFORE} days of {employees} employees: "
        f"{summary.interactions} interactions"
    )
    build(settings)
    approved_at = datetime.combine(START + timedelta(days=DAYS_BEFORE), clock(), UTC)
    connection = connect(settings.work_warehouse_path)
    try:
        print(refresh_drafts(connection, data_dir, catalogue, seed=seed, at=approved_at))
    finally:
        connection.close()
    store = open_drafts(data_dir)
    try:
        drafts = list_drafts(store)
        print(f"drafts made: {len(drafts)}")
        for draft in drafts:
            print(
                f"  {draft.draft_id}  {draft.intent:<22} {len(draft.ticket_ids):>4} tickets  "
                f"{draft.title}"
            )
        chosen = article_draft(drafts, catalogue)
        if chosen is None:
            sys.exit(
                "no draft of an intent answered from articles: simulate more employees or days"
            )
        with closing(approval_log(settings)) as log:
            article = approve_draft(
                store, chosen.draft_id, REVIEWER, draft_intents(catalogue), approved_at, log=log
            )
    finally:
        store.close()
    print(
        f"approved {chosen.draft_id} ({chosen.intent}, {len(chosen.ticket_ids)} tickets) "
        f"as {article.id}"
    )
    after = continue_simulation(settings, DAYS_AFTER, seed + 1, approved_at.date())
    print(f"simulated {DAYS_AFTER} more days: {after - summary.interactions} interactions")
    build(settings)
    answered, deflected, confirmed, rejected, escalated = warehouse_rows(
        settings, DEFLECTION_SQL, {"article_id": article.id}
    )
    before_all, before_escalated, after_all, after_escalated = warehouse_rows(
        settings,
        INTENT_SQL,
        {"intent": chosen.intent, "approved_at": approved_at.replace(tzinfo=None)},
    )
    weeks_before, weeks_after = DAYS_BEFORE / 7, DAYS_AFTER / 7
    print()
    print(
        f"cluster before approval: {len(chosen.ticket_ids)} resolved escalations drafted into it "
        f"over {DAYS_BEFORE} days ({len(chosen.ticket_ids) / weeks_before:.1f} a week)"
    )
    print(
        f"intent {chosen.intent} before: {before_all} interactions, {before_escalated} escalated "
        f"({before_escalated / weeks_before:.1f} escalations a week)"
    )
    print(
        f"intent {chosen.intent} after:  {after_all} interactions, {after_escalated} escalated "
        f"({after_escalated / weeks_after:.1f} escalations a week)"
    )
    print(
        f"{article.id} since approval: answered {answered}, deflected {deflected}, "
        f"confirmed {confirmed}, rejected {rejected}, escalated after the answer {escalated}"
    )
    print(f"run time: {time.perf_counter() - began:.0f} s")


def main() -> None:
    """Parse the arguments and run in a temporary data dir."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=1200)
    parser.add_argument("--seed", type=int, default=7)
    arguments = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        run(Path(data_dir), arguments.employees, arguments.seed)


if __name__ == "__main__":
    main()
