"""Build the warehouse models with dbt (in process), from any working directory."""

from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from pathlib import Path

from pipelines.reference import load_reference_data
from pipelines.warehouse import connect
from resolver.catalogue import load_catalogue
from unticket.settings import PROJECT_ROOT, Settings, get_settings

DBT_PROJECT = PROJECT_ROOT / "dbt"


@dataclass
class BuildResult:
    """What `dbt build` did: success, and the nodes that failed or warned."""

    success: bool
    nodes: int = 0
    failures: list[str] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)


def run_dbt(arguments: list[str], warehouse: Path) -> BuildResult:
    """Run a dbt command against a warehouse file with absolute project and profile paths."""
    from dbt.cli.main import dbtRunner

    os.environ["UNTICKET_WAREHOUSE"] = str(warehouse.resolve())
    os.environ["UNTICKET_DUCKDB_MEMORY_LIMIT"] = get_settings().duckdb_memory_limit
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    target = warehouse.parent / "dbt-target"
    variables = {"recontact_window_hours": get_settings().recontact_window_hours}
    command = [
        *arguments,
        "--vars",
        json.dumps(variables),
        "--project-dir",
        str(DBT_PROJECT),
        "--profiles-dir",
        str(DBT_PROJECT),
        "--target-path",
        str(target),
        "--log-path",
        str(target / "logs"),
        "--quiet",
    ]
    try:
        result = dbtRunner().invoke(command)
    finally:
        _release_warehouse()
    outcome = BuildResult(success=bool(result.success))
    for node in getattr(result.result, "results", None) or []:
        outcome.nodes += 1
        status = str(node.status)
        if status in ("error", "fail"):
            outcome.failures.append(f"{node.node.name}: {node.message}")
        elif status == "warn":
            outcome.warnings.append(f"{node.node.name}: {node.message}")
    if result.exception is not None:
        outcome.failures.append(str(result.exception))
    return outcome


def _release_warehouse() -> None:
    """Close the DuckDB database dbt-duckdb keeps open for the life of the process, so this
    process (and others) can open the warehouse freely after the build."""
    from dbt.adapters.duckdb.connections import DuckDBConnectionManager

    with DuckDBConnectionManager._LOCK:
        if DuckDBConnectionManager._ENV is not None:
            DuckDBConnectionManager._ENV.close()
            DuckDBConnectionManager._ENV = None


def build_models(warehouse: Path) -> BuildResult:
    """`dbt build`: seeds, models and their tests."""
    return run_dbt(["build"], warehouse)


def build_warehouse(settings: Settings) -> BuildResult:
    """Refresh the catalogue's reference tables, then `dbt build` the warehouse."""
    catalogue = load_catalogue(settings.catalogue_dir)
    connection = connect(settings.warehouse_path)
    try:
        load_reference_data(catalogue, connection, settings.state_db)
    finally:
        connection.close()
    return build_models(settings.warehouse_path)
