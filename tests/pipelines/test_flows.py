"""The Prefect flows end to end: recorded runs, the quality gate, and readers during a run."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import date
from pathlib import Path

import duckdb
import pytest

from pipelines.orchestration import run_flow
from pipelines.warehouse import connect
from resolver.simulation import run_simulation
from settings import Settings, get_settings
from tests.conftest import make_settings

READER = """
import json, sys, time
import duckdb
path, seconds = sys.argv[1], float(sys.argv[2])
reads = errors = torn = 0
messages = []
deadline = time.monotonic() + seconds
while time.monotonic() < deadline:
    try:
        with duckdb.connect(path, read_only=True) as connection:
            facts, daily, weekly = connection.execute(
                "select (select count(*) from marts.fct_interactions"
                "        where is_support and outcome <> 'pending'),"
                " (select sum(support_interactions) from marts.kpi_deflection_daily),"
                " (select sum(support_interactions) from marts.kpi_deflection_definitions)"
            ).fetchone()
        reads += 1
        torn += not (facts == daily == weekly)
    except Exception as error:
        errors += 1
        messages.append(str(error)[:200])
    time.sleep(0.02)
print(json.dumps({"reads": reads, "errors": errors, "torn": torn, "messages": messages[:5]}))
"""


@pytest.fixture(scope="module")
def prefect_harness() -> Iterator[None]:
    """One ephemeral Prefect API for the module, without flow heartbeats."""
    from prefect.settings import PREFECT_FLOWS_HEARTBEAT_FREQUENCY, temporary_settings
    from prefect.testing.utilities import prefect_test_harness

    with (
        prefect_test_harness(server_startup_timeout=90),
        temporary_settings({PREFECT_FLOWS_HEARTBEAT_FREQUENCY: None}),
    ):
        yield


@pytest.fixture
def pipeline_settings(
    tmp_path: Path, trained_models: Path, monkeypatch: pytest.MonkeyPatch, prefect_harness: None
) -> Iterator[Settings]:
    """A data dir with two weeks of simulated events that the flows' settings point at."""
    settings = make_settings(tmp_path / "data", trained_models)
    run_simulation(settings, employees=150, days=14, seed=4, start=date(2026, 9, 7))
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def latest_runs(settings: Settings) -> list[tuple]:
    with duckdb.connect(str(settings.ops_path), read_only=True) as connection:
        return connection.execute(
            "select flow, status, published, error from pipeline_runs order by started_at"
        ).fetchall()


def test_nightly_builds_checks_publishes_and_records_the_run(pipeline_settings: Settings) -> None:
    run_flow("nightly")
    with duckdb.connect(str(pipeline_settings.warehouse_path), read_only=True) as connection:
        facts = connection.execute("select count(*) from marts.fct_interactions").fetchone()[0]
        results = connection.execute("select count(*) from ops.dq_results").fetchone()[0]
    assert facts >= 50 and results > 20
    assert latest_runs(pipeline_settings) == [("nightly", "succeeded", True, None)]
    with duckdb.connect(str(pipeline_settings.ops_path), read_only=True) as connection:
        steps = json.loads(connection.execute("select steps from pipeline_runs").fetchone()[0])
        rows_in = connection.execute("select rows_in from pipeline_runs").fetchone()[0]
    assert [step["step"] for step in steps] == [
        "ingest", "import", "validate_raw", "transform", "validate_marts", "train_and_score",
        "publish",
    ]  # fmt: skip
    assert rows_in == steps[0]["rows_in"] > 0


def test_a_failed_critical_check_keeps_the_last_good_warehouse(
    pipeline_settings: Settings,
) -> None:
    run_flow("nightly")
    published = pipeline_settings.warehouse_path.stat()
    connection = connect(pipeline_settings.work_warehouse_path)
    connection.execute(  # an event from the year 2099: "no event in the future" is critical
        "insert into raw.events by name select * replace "
        "(event_id || '-copy' as event_id, timestamp '2099-01-01' as occurred_at) "
        "from raw.events limit 1"
    )
    connection.close()
    with pytest.raises(Exception, match="critical"):
        run_flow("nightly")
    after = pipeline_settings.warehouse_path.stat()
    assert (after.st_ino, after.st_mtime_ns) == (published.st_ino, published.st_mtime_ns)
    runs = latest_runs(pipeline_settings)
    assert runs[-1][:3] == ("nightly", "failed", False) and "critical" in runs[-1][3]


def test_warnings_are_recorded_and_the_run_publishes(pipeline_settings: Settings) -> None:
    drop = pipeline_settings.data_dir / "drops" / "csv" / "jsm"
    drop.mkdir(parents=True)
    (drop / "export.csv").write_text(
        "Issue key,Summary,Priority,Status,Created,Resolved,Request Type\n"
        "IT-1,VPN drops,Highest,Done,2026-09-01 09:00,2026-09-01 12:00,VPN\n"
        "IT-2,Printer,Urgent!!,Done,2026-09-02 09:00,2026-09-02 10:00,Printer\n"
    )
    run_flow("nightly")
    assert latest_runs(pipeline_settings)[-1][:3] == ("nightly", "succeeded", True)
    with duckdb.connect(str(pipeline_settings.warehouse_path), read_only=True) as connection:
        failed = connection.execute(
            "select severity, count(*) from ops.dq_results where not success group by 1"
        ).fetchall()
        imported = connection.execute("select count(*) from raw.tickets").fetchone()[0]
    assert dict(failed).get("warning", 0) >= 1 and "critical" not in dict(failed)
    assert imported == 2
    assert (pipeline_settings.data_dir / "drops" / "imported" / "csv").exists()


def test_readers_during_a_nightly_run_never_fail_or_see_half_a_build(
    pipeline_settings: Settings,
) -> None:
    held_back = pipeline_settings.data_dir / "held-back"
    held_back.mkdir()
    for partition in sorted(pipeline_settings.events_dir.iterdir())[-4:]:
        partition.rename(held_back / partition.name)
    run_flow("nightly")
    for partition in held_back.iterdir():
        partition.rename(pipeline_settings.events_dir / partition.name)
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, str(pipeline_settings.warehouse_path), "25"],
        stdout=subprocess.PIPE,
        text=True,
    )
    time.sleep(1)
    run_flow("nightly")
    run_flow("hourly")
    seen = json.loads(reader.communicate(timeout=120)[0])
    assert seen["errors"] == 0, seen["messages"]
    assert seen["torn"] == 0 and seen["reads"] > 50
    assert [run[1] for run in latest_runs(pipeline_settings)] == ["succeeded"] * 3


def test_poison_drops_are_set_aside_and_the_nightly_goes_on(
    pipeline_settings: Settings, tmp_path: Path
) -> None:
    secret = "root:$6$s3cr3tHash:19000:0:99999:7:::"
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "shadow").write_text(secret + "\n")
    drop = pipeline_settings.data_dir / "drops" / "servicenow"
    drop.mkdir(parents=True)
    (drop / "incidents.csv").symlink_to(outside / "shadow")
    (drop / ("x" * 236 + ".csv")).write_text("not,an,export\n1,2,3\n")
    (drop / "empty.csv").touch()
    (drop / "good.csv").write_text(
        "number,opened_at,priority\nINC1,2026-09-01 09:00,3\nINC2,2026-09-02 10:00,2\n"
    )
    run_flow("nightly")
    assert latest_runs(pipeline_settings) == [("nightly", "succeeded", True, None)]
    failed = pipeline_settings.data_dir / "drops" / "failed" / "servicenow"
    reasons = sorted(path.read_text() for path in failed.glob("*.error.txt"))
    assert [reason.split(":")[0] for reason in reasons] == [
        f"{drop / ('x' * 236)}.csv is not a ServiceNow incident export",
        "empty file\n",
        "symbolic link refused\n",
    ]
    assert len(list(failed.iterdir())) == 6
    imported = pipeline_settings.data_dir / "drops" / "imported" / "servicenow"
    assert [path.name.split("-", 1)[1] for path in imported.iterdir()] == ["good.csv"]
    with duckdb.connect(str(pipeline_settings.warehouse_path), read_only=True) as connection:
        assert connection.execute("select count(*) from raw.tickets").fetchone()[0] == 2
        raw = connection.execute(
            "select (select string_agg(q::varchar) from raw.import_quarantine as q), "
            "(select string_agg(b::varchar) from raw.import_batches as b)"
        ).fetchone()
    with duckdb.connect(str(pipeline_settings.ops_path), read_only=True) as connection:
        tables = [row[0] for row in connection.execute("show tables").fetchall()]
        ops = [connection.execute(f"select * from {table}").fetchall() for table in tables]
    steps = json.loads(ops[tables.index("pipeline_runs")][0][-1])
    assert "incidents.csv: symbolic link refused" in steps[1]["warnings"]
    assert "s3cr3t" not in str(ops) + str(raw) + "".join(reasons)
    run_flow("nightly")  # nothing is retried, nothing fails again
    assert [run[1] for run in latest_runs(pipeline_settings)] == ["succeeded"] * 2
    assert len(list(failed.iterdir())) == 6
