"""The warehouse on both engines: one simulation and an imported ticket history built on DuckDB
and on Spark (in this process, `local[2]`) give the same marts, after a full build and after an
incremental load that changes interactions already built, and `unticket kpis` prints the same
figures from either."""

from __future__ import annotations

import math
import shutil
from dataclasses import dataclass
from datetime import date
from pathlib import Path

import duckdb
import pytest
from typer.testing import CliRunner

from catalogue import load_catalogue
from pipelines.importers.csv_mapping import import_csv
from pipelines.importers.servicenow import import_servicenow
from pipelines.ingest import ingest_events
from pipelines.publish import publish_warehouse
from pipelines.reference import load_reference_data
from pipelines.spark import SOURCE_TABLES, export_sources, sources_dir
from pipelines.transform import build_models, build_warehouse
from pipelines.warehouse import connect
from resolver.simulation import run_simulation
from settings import PROJECT_ROOT, Settings, get_settings
from tests.conftest import make_settings
from unticket.cli import app

Marts = dict[str, tuple[list[str], list[tuple]]]

FIRST_DAYS = 7  # of the 10 simulated: the first load; the other 3 come incrementally


def marts_of(settings: Settings) -> Marts:
    """Every mart of the working warehouse: its columns in order (name and type) and its rows
    (sorted), without the build stamp."""
    with duckdb.connect(str(settings.work_warehouse_path), read_only=True) as connection:
        tables = connection.execute(
            "select table_name from information_schema.tables where table_schema = 'marts' "
            "order by table_name"
        ).fetchall()
        marts = {}
        for (table,) in tables:
            result = connection.execute(f"select * from marts.{table}")
            columns = [f"{name} {kind}" for name, kind, *_ in result.description]
            kept = [i for i, column in enumerate(columns) if not column.startswith("built_at ")]
            rows = [tuple(row[i] for i in kept) for row in result.fetchall()]
            marts[table] = ([columns[i] for i in kept], sorted(rows, key=_sort_key))
        return marts


def _sort_key(row: tuple) -> tuple:
    return tuple((value is None, round(value, 6) if isinstance(value, float) else str(value))
                 for value in row)  # fmt: skip


def assert_same_marts(duckdb_marts: Marts, spark_marts: Marts) -> None:
    """The same marts, columns (in order, of the same types) and rows; floating-point numbers
    within 1e-9."""
    assert sorted(spark_marts) == sorted(duckdb_marts)
    for mart, (columns, rows) in duckdb_marts.items():
        spark_columns, spark_rows = spark_marts[mart]
        assert spark_columns == columns, mart
        assert len(spark_rows) == len(rows), mart
        for expected, actual in zip(rows, spark_rows, strict=True):
            for column, left, right in zip(columns, expected, actual, strict=True):
                if isinstance(left, float) or isinstance(right, float):
                    assert math.isclose(left, right, rel_tol=1e-9, abs_tol=1e-9), (mart, column)
                else:
                    assert left == right, (mart, column, expected, actual)


IMPORTS = PROJECT_ROOT / "tests" / "fixtures" / "importers"


def load(settings: Settings, partitions: list[Path], history: bool = False) -> None:
    """Add days of the simulated event log to a data dir's log and ingest them; with
    `history`, import ticket history too (a ServiceNow audit log and a JSM export)."""
    for partition in partitions:
        shutil.copytree(partition, settings.events_dir / partition.name)
    connection = connect(settings.work_warehouse_path)
    ingest_events(settings.events_dir, connection)
    if history:
        import_servicenow(IMPORTS / "servicenow_audit_variants.csv", connection)
        import_csv(IMPORTS / "jsm_export.csv", PROJECT_ROOT / "data/mappings/jsm.yml", connection)
    connection.close()


@dataclass
class Builds:
    """The two data dirs, and their marts after each build."""

    duckdb: Settings
    spark: Settings
    full: tuple[Marts, Marts]
    incremental: tuple[Marts, Marts]
    rebuilt_on_duckdb: Marts
    rebuilt_interactions: int


@pytest.fixture(scope="module")
def builds(tmp_path_factory: pytest.TempPathFactory, trained_models: Path) -> Builds:
    source = make_settings(tmp_path_factory.mktemp("source") / "data", trained_models)
    run_simulation(source, employees=300, days=10, seed=5, start=date(2026, 9, 7))
    on_duckdb = make_settings(tmp_path_factory.mktemp("duckdb") / "data", trained_models)
    on_spark = make_settings(
        tmp_path_factory.mktemp("spark") / "data", trained_models, engine="spark",
        spark_master="local[2]",
    )  # fmt: skip
    partitions = sorted(source.events_dir.iterdir())
    snapshots = []
    for days in (partitions[:FIRST_DAYS], partitions[FIRST_DAYS:]):
        for settings in (on_duckdb, on_spark):
            shutil.copy(source.state_db, settings.state_db)
            load(settings, days, history=days[0] == partitions[0])
            result = build_warehouse(settings)
            assert result.success, result.failures
            assert result.full_refresh == (days[0] == partitions[0])
        snapshots.append((marts_of(on_duckdb), marts_of(on_spark)))
    rebuilt = _interactions_rebuilt_before(on_spark, partitions[FIRST_DAYS].name.split("=")[1])
    assert build_models(on_duckdb.work_warehouse_path, on_duckdb, full_refresh=True).success
    return Builds(on_duckdb, on_spark, snapshots[0], snapshots[1], marts_of(on_duckdb), rebuilt)


def _interactions_rebuilt_before(settings: Settings, first_new_day: str) -> int:
    """Interactions that started before the incremental load's first day and that the last
    build (the incremental one) rebuilt: a ticket resolved, a re-contact, a later event."""
    with duckdb.connect(str(settings.work_warehouse_path), read_only=True) as connection:
        return connection.execute(
            "select count(*) from marts.fct_interactions where started_at < ? "
            "and built_at = (select max(built_at) from marts.fct_interactions)",
            [date.fromisoformat(first_new_day)],
        ).fetchone()[0]


def test_a_full_build_gives_the_same_marts_on_both_engines(builds: Builds) -> None:
    on_duckdb, on_spark = builds.full
    assert len(on_duckdb) == 11
    assert len(on_duckdb["fct_interactions"][1]) > 50
    sources = {row[1] for row in on_duckdb["fct_tickets"][1]}
    assert sources == {"unticket", "servicenow", "jsm"}
    assert_same_marts(on_duckdb, on_spark)


def test_an_incremental_load_changing_built_interactions_gives_the_same_marts(
    builds: Builds,
) -> None:
    on_duckdb, on_spark = builds.incremental
    assert builds.rebuilt_interactions > 0
    assert len(on_spark["fct_interactions"][1]) > len(builds.full[1]["fct_interactions"][1])
    assert_same_marts(on_duckdb, on_spark)
    assert_same_marts(builds.rebuilt_on_duckdb, on_spark)


def test_the_sources_spark_reads_are_every_source_of_the_project(builds: Builds) -> None:
    exported = {(table.schema, table.name) for table in SOURCE_TABLES}
    written = {
        (schema.name, table.name)
        for schema in sources_dir(builds.spark).iterdir()
        for table in schema.iterdir()
    }
    assert written == exported
    events = sources_dir(builds.spark) / "raw" / "events"
    assert sorted(p.name for p in events.iterdir() if not p.name.startswith("_"))[0] == (
        "event_date=2026-09-07"
    )


def test_kpis_print_the_same_figures_from_either_engine(
    builds: Builds, monkeypatch: pytest.MonkeyPatch
) -> None:
    printed = []
    for settings in (builds.duckdb, builds.spark):
        publish_warehouse(settings.work_warehouse_path, settings.warehouse_path)
        monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
        get_settings.cache_clear()
        try:
            result = CliRunner().invoke(app, ["kpis"])
        finally:
            get_settings.cache_clear()
        assert result.exit_code == 0, result.output
        printed.append(result.output)
    assert "Deflection rate" in printed[0]
    assert printed[1] == printed[0]


def _exported_events(settings: Settings) -> list[tuple]:
    folder = sources_dir(settings) / "raw" / "events"
    with duckdb.connect() as connection:
        return connection.execute(
            f"select event_id, event_date from read_parquet('{folder}/**/*.parquet', "
            "hive_partitioning = true) order by event_id"
        ).fetchall()


def _raw_events(settings: Settings) -> list[tuple]:
    with duckdb.connect(str(settings.work_warehouse_path), read_only=True) as connection:
        return connection.execute(
            "select event_id, cast(occurred_at as date) from raw.events order by event_id"
        ).fetchall()


def test_the_export_rewrites_only_the_days_with_new_events(
    tmp_path: Path, trained_models: Path
) -> None:
    source = make_settings(tmp_path / "source", trained_models)
    run_simulation(source, employees=60, days=4, seed=9, start=date(2026, 9, 7))
    settings = make_settings(tmp_path / "data", trained_models)
    shutil.copy(source.state_db, settings.state_db)
    partitions = sorted(source.events_dir.iterdir())
    summaries = []
    for days in (partitions[:3], partitions[3:], []):
        load(settings, days)
        connection = connect(settings.work_warehouse_path)
        load_reference_data(load_catalogue(settings.catalogue_dir), connection, settings.state_db)
        connection.execute("create or replace table ops.build_scope as select now() as built_after")
        summaries.append(export_sources(connection, settings))
        connection.close()
        assert _exported_events(settings) == _raw_events(settings)
    assert summaries[0].all_events and summaries[0].event_days == 3
    # the last day's events and the later events of earlier days' interactions
    assert not summaries[1].all_events and 1 <= summaries[1].event_days <= 4
    assert summaries[2].event_days == 0
    # events removed from the warehouse (a replaced data dir): everything is written again
    connection = connect(settings.work_warehouse_path)
    connection.execute(
        "delete from raw.events where cast(occurred_at as date) = ?", [date(2026, 9, 7)]
    )
    assert export_sources(connection, settings).all_events
    connection.close()
    assert _exported_events(settings) == _raw_events(settings)
