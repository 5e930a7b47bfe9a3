import json
import threading
from collections.abc import Iterator
from datetime import date
from pathlib import Path
from typing import Any

import duckdb
import pytest
import typer.main
from typer.testing import CliRunner, Result

from pipelines.warehouse import connect
from resolver.simulation import run_simulation
from settings import Settings, get_settings
from tests.conftest import OtherProcess
from unticket.cli import app

runner = CliRunner()


def leaf_commands(command: Any, path: tuple[str, ...] = ()) -> Iterator[list[str]]:
    """The path of every command under `command` that is not itself a group."""
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        yield list(path)
        return
    for name, subcommand in subcommands.items():
        yield from leaf_commands(subcommand, (*path, name))


def test_every_command_has_help_with_an_example() -> None:
    commands = list(leaf_commands(typer.main.get_command(app)))
    assert ["ingest"] in commands and ["import", "csv"] in commands and len(commands) >= 26
    for command in commands:
        result = runner.invoke(app, [*command, "--help"])
        assert result.exit_code == 0, command
        assert "Example:" in result.output, command


def test_ask_answers_as_json(settings, monkeypatch) -> None:
    from settings import get_settings
    from tests.conftest import make_runtime

    make_runtime(settings).close()
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["ask", "my printer is jammed", "--as", "E000020", "--json"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert json.loads(result.output)["intent"] == "printer_issue"


def test_ask_prints_plain_text_without_markdown_marks(settings, monkeypatch) -> None:
    from tests.conftest import make_runtime

    make_runtime(settings).close()
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["ask", "my printer is jammed", "--as", "E000020"])
        outbox = runner.invoke(app, ["outbox", "--as", "E000020"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 0, result.output
    assert "Fix a printer" in result.output and "**" not in result.output
    assert outbox.exit_code == 0 and "**" not in outbox.output


def test_simulate_refuses_to_mix_data_without_replace(settings, monkeypatch) -> None:
    from settings import get_settings
    from tests.conftest import make_runtime

    make_runtime(settings).close()
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        result = runner.invoke(app, ["simulate", "--days", "1", "--employees", "50"])
    finally:
        get_settings.cache_clear()
    assert result.exit_code == 2 and "--replace" in result.output


def test_sql_reads_the_warehouse_and_nothing_else(settings, monkeypatch, tmp_path) -> None:
    import duckdb

    from settings import get_settings

    settings.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(settings.warehouse_path)) as connection:
        connection.execute("create schema marts; create table marts.kpis as select 42 as answer")
    outside = tmp_path / "outside.txt"
    outside.write_text("root:$6$secret-hash:19000:0:99999:7:::\n")
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    try:
        works = runner.invoke(app, ["sql", "select answer from marts.kpis"])
        markup = runner.invoke(app, ["sql", "select '[link=https://evil.example]x[/link]' as t"])
        refused = {
            query: runner.invoke(app, ["sql", query])
            for query in (
                f"select * from read_text('{outside}')",
                f"select * from read_csv('{outside}')",
                f"copy (select 1) to '{tmp_path / 'written.csv'}'",
                f"attach '{tmp_path / 'other.duckdb'}'",
                "set enable_external_access = true",
                "install httpfs",
                "create table marts.mine as select 1",
            )
        }
    finally:
        get_settings.cache_clear()
    assert works.exit_code == 0 and "42" in works.output
    assert "[link=https://evil.example]x[/link]" in markup.output  # shown as text, not a link
    for query, result in refused.items():
        assert result.exit_code == 2, query
        assert "secret-hash" not in result.output, query
    assert not (tmp_path / "written.csv").exists() and not (tmp_path / "other.duckdb").exists()


# --- ingest, build, import and report run the pipeline's steps as recorded runs ----------------

HOLD_LOCK = """
import fcntl, sys
with open(sys.argv[1], "w") as lock:
    fcntl.flock(lock, fcntl.LOCK_EX)
    print("locked", flush=True)
    sys.stdin.readline()
"""
IMPORTS = Path(__file__).parent.parent / "fixtures" / "importers"


@pytest.fixture
def data_dir(settings, monkeypatch) -> Iterator[Settings]:
    """The test's data dir, as the commands' settings."""
    monkeypatch.setenv("UNTICKET_DATA_DIR", str(settings.data_dir))
    get_settings.cache_clear()
    yield settings
    get_settings.cache_clear()


def recorded(settings: Settings) -> list[tuple]:
    """(flow, status, published, step names, error) of every recorded run, oldest first."""
    with duckdb.connect(str(settings.ops_path), read_only=True) as connection:
        rows = connection.execute(
            "select flow, status, published, steps, error from pipeline_runs order by started_at"
        ).fetchall()
    return [
        (flow, status, published, [step["step"] for step in json.loads(steps)], error)
        for flow, status, published, steps, error in rows
    ]


def test_ingest_build_and_report_are_recorded_runs_of_the_steps(
    data_dir, monkeypatch, tmp_path
) -> None:
    run_simulation(data_dir, employees=60, days=7, seed=3, start=date(2026, 9, 21))
    ingested = runner.invoke(app, ["ingest"])
    assert ingested.exit_code == 0, ingested.output
    assert "events:" in ingested.output and " read, " in ingested.output
    built = runner.invoke(app, ["build"])
    assert built.exit_code == 0, built.output
    assert "Built the warehouse (" in built.output and "Published " in built.output
    monkeypatch.setenv("UNTICKET_REPORT_SLACK_WEBHOOK_URL", "")  # set but empty: not configured
    get_settings.cache_clear()
    reported = runner.invoke(app, ["report", "--as-of", "2026-09-28", "--output", str(tmp_path)])
    assert reported.exit_code == 0, reported.output
    assert "Deflection rate (strict)" in reported.output and "Slack" not in reported.output
    assert recorded(data_dir) == [
        ("cli:ingest", "succeeded", False, ["ingest"], None),
        ("cli:build", "succeeded", True, ["transform", "publish"], None),
        ("cli:report", "succeeded", False, ["report"], None),
    ]


def test_ingest_waits_for_the_pipeline_lock(data_dir) -> None:
    from pipelines.steps import lock_path

    run_simulation(data_dir, employees=30, days=1, seed=3, start=date(2026, 9, 21))
    lock_path(data_dir).parent.mkdir(parents=True, exist_ok=True)
    results: list[Result] = []
    with OtherProcess(HOLD_LOCK, str(lock_path(data_dir))) as other:
        assert other.readline() == "locked"
        command = threading.Thread(target=lambda: results.append(runner.invoke(app, ["ingest"])))
        command.start()
        command.join(timeout=2)
        assert command.is_alive() and not data_dir.ops_path.exists()  # waiting, nothing done
    command.join(timeout=60)
    assert results and results[0].exit_code == 0, results
    assert recorded(data_dir) == [("cli:ingest", "succeeded", False, ["ingest"], None)]


def test_import_prints_quarantine_reasons_and_is_recorded(data_dir) -> None:
    result = runner.invoke(
        app, ["import", "servicenow", str(IMPORTS / "servicenow_audit_variants.csv")]
    )
    assert result.exit_code == 0, result.output
    assert "12 read, 8 loaded, 4 quarantined" in result.output
    assert result.output.count("quarantined ") >= 2 and "raw.import_quarantine" in result.output
    assert recorded(data_dir) == [("cli:import", "succeeded", False, ["import"], None)]


def test_a_failing_step_exits_2_with_its_message_and_is_recorded(data_dir, tmp_path) -> None:
    unreadable = tmp_path / "nothing.csv"
    unreadable.write_text("not,a,ticket,export\n1,2,3,4\n")
    result = runner.invoke(app, ["import", "servicenow", str(unreadable)])
    assert result.exit_code == 2 and "(nothing was imported)" in result.output
    assert "Traceback" not in result.output
    connect(data_dir.warehouse_path).close()  # raw tables only: never built
    result = runner.invoke(app, ["report"])
    assert result.exit_code == 2 and "run `unticket build`" in result.output
    runs = recorded(data_dir)
    assert [(flow, status) for flow, status, *_ in runs] == [
        ("cli:import", "failed"),
        ("cli:report", "failed"),
    ]
    assert "marts are not built" in runs[1][-1]


def test_export_writes_one_file_per_mart(data_dir, tmp_path) -> None:
    data_dir.warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with duckdb.connect(str(data_dir.warehouse_path)) as connection:
        connection.execute("create schema marts; create table marts.kpis as select 42 as answer")
    target = tmp_path / "it's here"
    result = runner.invoke(app, ["export", "--format", "csv", str(target)])
    assert result.exit_code == 0, result.output
    assert (target / "kpis.csv").read_text().splitlines() == ["answer", "42"]
