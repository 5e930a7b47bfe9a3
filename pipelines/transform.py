"""Build the warehouse models with dbt (in process), from any working directory."""

from __future__ import annotations

import os
from dataclasses import dataclass, field
from pathlib import Path

from unticket.settings import PROJECT_ROOT

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
    os.environ.setdefault("DBT_SEND_ANONYMOUS_USAGE_STATS", "false")
    target = warehouse.parent / "dbt-target"
    command = [
        *arguments,
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
    result = dbtRunner().invoke(command)
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


def build_models(warehouse: Path) -> BuildResult:
    """`dbt build`: seeds, models and their tests."""
    return run_dbt(["build"], warehouse)
