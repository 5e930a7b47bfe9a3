"""The warehouse end to end: simulate → ingest → dbt build (models, data tests, unit tests)."""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import Sequence
from datetime import date
from pathlib import Path

import duckdb
import pytest
import yaml

from pipelines.ingest import ingest_events
from pipelines.kpis import headline
from pipelines.publish import publish_warehouse
from pipelines.transform import (
    build_fingerprint,
    build_models,
    build_state_path,
    build_warehouse,
    run_dbt,
)
from pipelines.warehouse import connect
from resolver.events import event_files
from resolver.simulation import run_simulation
from settings import PROJECT_ROOT, Settings
from tests.conftest import build_published_warehouse, make_settings


@pytest.fixture(scope="module")
def built(tmp_path_factory: pytest.TempPathFactory, trained_models: Path) -> Settings:
    settings = make_settings(tmp_path_factory.mktemp("warehouse") / "data", trained_models)
    build_published_warehouse(settings, employees=200, days=21, seed=3, start=date(2026, 9, 7))
    return settings


def query(settings: Settings, sql: str, work: bool = False) -> list[tuple]:
    path = settings.work_warehouse_path if work else settings.warehouse_path
    with duckdb.connect(str(path), read_only=True) as connection:
        if work:
            state = build_state_path(path)
            connection.execute(f"attach '{state}' as build_state (read_only)")
        return connection.execute(sql).fetchall()


def test_every_interaction_becomes_one_fact_row(built: Settings) -> None:
    raw = query(
        built,
        "select count(distinct interaction_id) from raw.events where interaction_id is not null",
    )[0][0]
    facts = query(
        built, "select count(*), count(distinct interaction_id) from marts.fct_interactions"
    )[0]
    assert facts == (raw, raw)


def test_kpi_marts_reconcile_with_the_facts(built: Settings) -> None:
    daily = query(
        built, "select sum(interactions), sum(deflected) from marts.kpi_deflection_daily"
    )[0]
    facts = query(
        built,
        "select count(*), sum(case when is_deflected then 1 else 0 end) from marts.fct_interactions where outcome <> 'pending'",
    )[0]
    assert daily == facts
    saved = query(built, "select round(sum(hours_saved), 6) from marts.kpi_productivity")[0][0]
    assert (
        saved
        == query(
            built, "select round(sum(hours_saved), 6) from marts.fct_interactions where is_support"
        )[0][0]
    )


def test_headline_is_strict_and_lower_than_lenient(built: Settings) -> None:
    with duckdb.connect(str(built.warehouse_path), read_only=True) as connection:
        figures = headline(connection)
    assert 0 < figures.strict_deflection_rate < figures.lenient_deflection_rate <= 1
    assert figures.support_interactions <= figures.interactions


def test_every_outcome_and_the_pareto_curve_are_present(built: Settings) -> None:
    outcomes = {
        row[0] for row in query(built, "select distinct outcome from marts.fct_interactions")
    }
    assert {"auto_resolved", "answered", "escalated", "abandoned"} <= outcomes
    levels = query(
        built,
        "select level, max(cumulative_share_of_lost_time) from marts.kpi_impact_pareto group by 1 order by 1",
    )
    assert [level for level, _ in levels] == ["issue_type", "ticket"]
    assert all(abs(share - 1) < 1e-9 for _, share in levels)


def test_rebuilding_is_safe_and_docs_generate(built: Settings) -> None:
    before = query(built, "select count(*), round(sum(hours_saved), 6) from marts.fct_interactions")
    assert build_warehouse(built).success
    publish_warehouse(built.work_warehouse_path, built.warehouse_path)
    assert (
        query(built, "select count(*), round(sum(hours_saved), 6) from marts.fct_interactions")
        == before
    )
    intermediate = (
        "select count(*) from information_schema.tables where table_schema = 'intermediate'"
    )
    assert query(built, intermediate) == [(0,)]  # build state stays out of what readers get
    assert run_dbt(["docs", "generate"], built.work_warehouse_path, built).success
    catalog = built.work_warehouse_path.parent / "dbt-target" / "catalog.json"
    assert catalog.exists() and "fct_interactions" in catalog.read_text()


def test_every_mart_column_is_documented(built: Settings) -> None:
    import yaml

    from settings import PROJECT_ROOT

    docs = yaml.safe_load((PROJECT_ROOT / "dbt" / "models" / "marts" / "_marts.yml").read_text())
    documented = {
        m["name"]: {c["name"] for c in m.get("columns", []) if c.get("description")}
        for m in docs["models"]
    }
    marts = query(
        built,
        "select table_name, column_name from information_schema.columns where table_schema = 'marts'",
    )
    missing = sorted(
        f"{table}.{column}" for table, column in marts if column not in documented.get(table, set())
    )
    assert missing == []


INCREMENTAL_TABLES = {
    "build_state.intermediate.int_interactions_summarised": "interaction_id",
    "build_state.intermediate.int_engine_tickets_summarised": "ticket_id",
    "build_state.intermediate.int_interactions_recontacts_flagged": "interaction_id",
    "build_state.intermediate.int_interactions_timed": "interaction_id",
    "marts.fct_interactions": "interaction_id",
    "marts.fct_tickets": "ticket_key",
    "marts.kpi_deflection_daily": "day, channel, intent, department, language",
    "marts.kpi_deflection_definitions": "week",
    "marts.kpi_productivity": "week, department, intent",
    "marts.kpi_proactive": "week",
}


def yaml_unit_tests() -> list[str]:
    """The names of the dbt project's unit tests."""
    names = []
    for path in (PROJECT_ROOT / "dbt" / "models").rglob("*.yml"):
        names += [test["name"] for test in yaml.safe_load(path.read_text()).get("unit_tests", [])]
    return names


def snapshot(settings: Settings) -> dict[str, list[tuple]]:
    """Every incremental table's rows, without the build stamps, in key order; sums of
    floating-point numbers rounded, as their last digits depend on the order of addition."""

    def rounded(row: tuple) -> tuple:
        return tuple(round(value, 9) if isinstance(value, float) else value for value in row)

    return {
        table: [
            rounded(row)
            for row in query(
                settings, f"select * exclude (built_at) from {table} order by {key}", work=True
            )
        ]
        for table, key in INCREMENTAL_TABLES.items()
    }


def test_an_incremental_build_equals_a_full_rebuild(
    tmp_path_factory: pytest.TempPathFactory, trained_models: Path
) -> None:
    source = make_settings(tmp_path_factory.mktemp("source") / "data", trained_models)
    run_simulation(source, employees=400, days=14, seed=5, start=date(2026, 9, 7))
    settings = make_settings(tmp_path_factory.mktemp("incremental") / "data", trained_models)
    shutil.copy(source.state_db, settings.state_db)
    partitions = sorted(source.events_dir.iterdir())
    nodes: list[int] = []
    for step, part in enumerate((partitions[:9], partitions[9:12], partitions[12:])):
        for partition in part:
            shutil.copytree(partition, settings.events_dir / partition.name)
        connection = connect(settings.work_warehouse_path)
        ingest_events(settings.events_dir, connection)
        connection.close()
        result = build_warehouse(settings)
        assert result.success, result.failures
        assert result.full_refresh == (step == 0)
        nodes.append(result.nodes)
    # unit tests, seeds and staging views only depend on the code: full refreshes run them
    code_only = [*yaml_unit_tests(), *(PROJECT_ROOT / "dbt" / "seeds").glob("*.csv")]
    code_only += (PROJECT_ROOT / "dbt" / "models" / "staging").rglob("*.sql")
    assert nodes[1] == nodes[2] == nodes[0] - len(code_only)
    incremental = snapshot(settings)
    assert build_models(settings.work_warehouse_path, settings, full_refresh=True).success
    assert snapshot(settings) == incremental


def test_a_repeated_event_id_fails_the_build(
    tmp_path_factory: pytest.TempPathFactory, trained_models: Path
) -> None:
    settings = make_settings(tmp_path_factory.mktemp("repeated") / "data", trained_models)
    run_simulation(settings, employees=50, days=3, seed=9, start=date(2026, 9, 7))
    connection = connect(settings.work_warehouse_path)
    ingest_events(settings.events_dir, connection)
    # an id the ingest would refuse, written past it: the same event at another time
    connection.execute(
        "insert into raw.events select * replace (occurred_at + interval 1 day as occurred_at) "
        "from raw.events order by event_id limit 1"
    )
    connection.close()
    result = build_warehouse(settings)
    assert not result.success
    assert any(
        failure.startswith("unique_by_hash_stg_unticket__events_event_id")
        for failure in result.failures
    )


def test_a_moved_dbt_project_still_builds_incrementally(
    tmp_path_factory: pytest.TempPathFactory, trained_models: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # dbt re-parses a project when its variables change but not when it moves: a reinstalled
    # product at a new path must not reuse the old installation's file paths
    settings = make_settings(tmp_path_factory.mktemp("moved") / "data", trained_models)
    run_simulation(settings, employees=50, days=3, seed=9, start=date(2026, 9, 7))
    connection = connect(settings.work_warehouse_path)
    ingest_events(settings.events_dir, connection)
    connection.close()
    results = []
    for installation in ("first", "second"):
        project = tmp_path_factory.mktemp(installation) / "dbt"
        shutil.copytree(PROJECT_ROOT / "dbt", project, ignore=shutil.ignore_patterns(".*"))
        monkeypatch.setattr("pipelines.transform.DBT_PROJECT", project)
        results.append(build_warehouse(settings))
        shutil.rmtree(project)
    assert results[1].success, results[1].failures
    assert [result.full_refresh for result in results] == [True, False]


def test_files_tools_leave_in_the_project_do_not_force_a_full_build(
    tmp_path: Path, trained_models: Path
) -> None:
    catalogue = tmp_path / "catalogue"
    shutil.copytree(PROJECT_ROOT / "data" / "catalogue", catalogue)
    settings = make_settings(tmp_path / "data", trained_models, catalogue_dir=catalogue)
    connection = connect(settings.work_warehouse_path)
    before = build_fingerprint(settings, connection)
    (catalogue / ".user.yml").write_text("id: written-by-a-tool\n")
    (catalogue / "logs").mkdir()
    (catalogue / "logs" / "dbt.log").write_text("a log line\n")
    unchanged = build_fingerprint(settings, connection)
    costs = catalogue / "costs.yml"
    costs.write_text(costs.read_text() + "\n# a reviewed change\n")
    changed = build_fingerprint(settings, connection)
    connection.close()
    assert unchanged == before != changed


DBT_DIR = PROJECT_ROOT / "dbt"


def _dbt_sql_without_comments() -> dict[str, str]:
    """Every SQL file of the dbt project (models, tests, macros), its comments removed."""
    texts = {}
    for folder in ("models", "tests", "macros"):
        for path in sorted((DBT_DIR / folder).rglob("*.sql")):
            text = re.sub(r"\{#.*?#\}", "", path.read_text(), flags=re.S)
            texts[str(path.relative_to(DBT_DIR))] = re.sub(r"--[^\n]*", "", text)
    return texts


def test_the_dbt_project_reads_other_tables_only_through_sources() -> None:
    hard_coded = re.compile(r"\b(raw|ops|marts)\.[a-z_]+\b")
    for name, text in _dbt_sql_without_comments().items():
        assert not hard_coded.search(text), name
    for path in (DBT_DIR / "models").rglob("*.yml"):
        wheres = re.findall(r"where: (.*)", path.read_text())
        assert all(not hard_coded.search(where) for where in wheres), path
    declared = yaml.safe_load((DBT_DIR / "models" / "_written_by_python.yml").read_text())
    sources = {s["name"]: {t["name"] for t in s["tables"]} for s in declared["sources"]}
    assert sources["ops"] == {"build_scope"}
    # every table models/pipeline.py writes beside the marts
    written = {"ticket_categories", "issue_impact", "automation_priorities", "topics", "spikes"}
    assert sources["scores"] == written
    scoring = next(e for e in declared["exposures"] if e["name"] == "model_scoring")
    assert "ref('fct_interactions')" in scoring["depends_on"]


def test_the_models_are_sql_other_engines_parse() -> None:
    texts = _dbt_sql_without_comments()
    for name, text in texts.items():
        assert not re.search(r",\s*from\b", text), f"{name}: a trailing comma before from"
        assert not re.search(r"\*\s*(replace|exclude)\s*\(", text), f"{name}: * replace/exclude"
        # `x / 3600.0` is a double on DuckDB, a decimal rounded to 6 places on Spark
        assert not re.search(r"/\s*\d+\.\d+\b", text), f"{name}: divided by a decimal"
        if name != "macros/portability.sql":
            assert not re.search(r"\bhash\(", text), f"{name}: hash() outside portability.sql"


def test_dbt_gets_the_window_and_memory_limit_of_the_settings_passed(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The build's variables come from the settings the fingerprint hashes, never from the
    process's global settings."""
    import json

    import dbt.cli.main

    commands: list[list[str]] = []

    class Runner:
        def invoke(self, command: list[str]) -> object:
            commands.append(command)
            return type("Result", (), {"success": True, "result": None, "exception": None})()

    monkeypatch.setattr(dbt.cli.main, "dbtRunner", Runner)
    monkeypatch.setattr("pipelines.transform._release_warehouse", lambda: None)
    for name in ("UNTICKET_WAREHOUSE", "UNTICKET_BUILD_STATE", "UNTICKET_DUCKDB_MEMORY_LIMIT"):
        monkeypatch.setenv(name, "")  # restored after the test: run_dbt sets them
    settings = Settings(data_dir=tmp_path, recontact_window_hours=5, duckdb_memory_limit="1GB")
    assert run_dbt(["compile"], tmp_path / "w.duckdb", settings).success
    variables = json.loads(commands[0][commands[0].index("--vars") + 1])
    assert variables["recontact_window_hours"] == 5
    assert os.environ["UNTICKET_DUCKDB_MEMORY_LIMIT"] == "1GB"


# --- languages --------------------------------------------------------------------------------

MISSING = object()  # no `language` key: an event logged before the engine recorded languages
# What each interaction_started event carries, in turn, and the language the warehouse gives it.
WRITTEN_LANGUAGES: dict[object, str] = {
    "de": "de",
    "es": "es",
    "fr": "fr",
    "en": "en",
    MISSING: "en",
    "DE": "de",  # case forgiven
    "pt-BR": "und",  # not one of the engine's languages: undetermined
    42: "und",  # not even text: loaded as written, undetermined
}
# The additive columns of kpi_deflection_daily (all but its grain, rates and build stamp).
DAILY_GRAIN = ("day", "channel", "intent", "department")
DAILY_SUMS = (
    "interactions",
    "support_interactions",
    "deflected",
    "auto_resolved",
    "answered",
    "escalated",
    "not_escalated",
    "abandoned",
    "unrecognized",
    "false_deflections",
    "confirmed",
    "rejected",
    "resolved",
    "recontacts",
    "lost_hours",
    "lost_cost_usd",
    "hours_saved",
    "cost_saved_usd",
    "hours_saved_on_assumed_baselines",
    "unconfirmed_hours",
    "unconfirmed_cost_usd",
    "answers_confirmed",
    "answers_with_feedback",
)


def write_languages(events_dir: Path, languages: Sequence[object]) -> dict[str, object]:
    """Rewrite the log so its interaction_started events carry `languages` in turn (`MISSING`:
    no `language` key at all); return what each interaction's start carries."""
    written: dict[str, object] = {}
    for path in event_files(events_dir):
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for event in events:
            if event["event_type"] == "interaction_started":
                event.pop("language", None)
                language = languages[len(written) % len(languages)]
                if language is not MISSING:
                    event["language"] = language
                written[event["interaction_id"]] = language
        path.write_text("".join(json.dumps(event) + "\n" for event in events))
    return written


def build_log_copy(source: Settings, target: Settings, languages: Sequence[object]) -> dict:
    """Copy `source`'s enterprise and event log into `target`, its starts carrying
    `languages`, then ingest (nothing quarantined) and build; return what each start carries."""
    shutil.copy(source.state_db, target.state_db)
    shutil.copytree(source.events_dir, target.events_dir)
    written = write_languages(target.events_dir, languages)
    connection = connect(target.work_warehouse_path)
    loaded = ingest_events(target.events_dir, connection)
    connection.close()
    assert loaded.rows_quarantined == 0, loaded.reasons
    result = build_warehouse(target)
    assert result.success, result.failures
    return written


def daily_totals(settings: Settings) -> list[tuple]:
    """kpi_deflection_daily summed over languages: each day, channel, intent and department
    with its counts and sums (sums rounded: their last digits depend on the order of addition)."""
    grain = ", ".join(DAILY_GRAIN)
    sums = ", ".join(f"round(sum({column}), 6)" for column in DAILY_SUMS)
    sql = f"select {grain}, {sums} from marts.kpi_deflection_daily group by all order by all"
    return query(settings, sql, work=True)


def test_events_with_and_without_a_language_build_and_add_up_to_the_same_totals(
    built: Settings, tmp_path: Path, trained_models: Path
) -> None:
    # the same log with each start carrying a language in turn, or none, or one not understood
    after = make_settings(tmp_path / "data", trained_models)
    written = build_log_copy(built, after, list(WRITTEN_LANGUAGES))

    facts = dict(
        query(after, "select interaction_id, language from marts.fct_interactions", work=True)
    )
    assert facts == {
        interaction: WRITTEN_LANGUAGES[written[interaction]] if interaction in written else "en"
        for interaction in facts
    }
    assert set(facts.values()) == {"en", "de", "es", "fr", "und"}
    # a new grain column doubles nothing: summed over languages, every day × channel × intent ×
    # department row is what the same log gives with other languages (or none: `built` is
    # the simulator's log as the engine wrote it)
    assert daily_totals(after) == daily_totals(built)
    # and each language's totals are its facts'
    by_language = query(
        after,
        "select language, sum(interactions), sum(support_interactions), sum(deflected) "
        "from marts.kpi_deflection_daily group by 1 order by 1",
        work=True,
    )
    facts_by_language = query(
        after,
        "select language, count(*), count(*) filter (where is_support), "
        "count(*) filter (where is_deflected) from marts.fct_interactions "
        "where outcome <> 'pending' group by 1 order by 1",
        work=True,
    )
    assert by_language == facts_by_language
