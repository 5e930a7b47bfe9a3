"""Reference data the warehouse models need, loaded from the catalogue into `raw`:
intents (support flag, blocking factor, tier), support costs, cost settings, office calendars,
and, when no roster was imported, the embedded directory's employees."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import duckdb
import polars as pl

from catalogue import Catalogue

SMALL_TALK = "small_talk"


def _intents(catalogue: Catalogue) -> pl.DataFrame:
    return pl.DataFrame(
        [
            {
                "intent": i.id,
                "label": i.label,
                "is_support": i.support,
                "is_small_talk": i.handling_kind == SMALL_TALK,
                "automatable": i.automatable,
                "blocking_factor": i.blocking_factor,
                "support_tier": i.support_tier,
                "handling": i.handling_kind,
                "baseline_working_hours": i.baseline_working_hours,
            }
            for i in catalogue.intents.values()
        ]
    )


def _locations(catalogue: Catalogue) -> tuple[pl.DataFrame, pl.DataFrame]:
    default = catalogue.enterprise["working_hours"]
    locations, holidays = [], []
    for location in catalogue.enterprise["locations"]:
        hours = location.get("working_hours", default)
        locations.append(
            {
                "location_id": location["id"],
                "name": location["name"],
                "timezone": location["timezone"],
                "work_start": hours["start"],
                "work_end": hours["end"],
                "weekdays": ",".join(str(d) for d in hours["weekdays"]),
            }
        )
        holidays.extend(
            {"location_id": location["id"], "holiday": str(d)} for d in location.get("holidays", [])
        )
    return pl.DataFrame(locations), pl.DataFrame(holidays)


def _replace(connection: duckdb.DuckDBPyConnection, table: str, frame: pl.DataFrame) -> None:
    connection.register("incoming", frame.to_arrow())
    connection.execute(f"create or replace table raw.{table} as select * from incoming")
    connection.unregister("incoming")


def load_reference_data(
    catalogue: Catalogue, connection: duckdb.DuckDBPyConnection, directory_db: Path | None
) -> None:
    """Replace the catalogue's reference tables in one transaction."""
    costs = catalogue.costs
    locations, holidays = _locations(catalogue)
    connection.execute("begin transaction")
    try:
        _replace(connection, "intents", _intents(catalogue))
        _replace(connection, "locations", locations)
        _replace(connection, "holidays", holidays)
        tiers = [
            {"support_tier": k, "cost_usd": float(v)}
            for k, v in costs["support_cost_per_tier"].items()
        ]
        _replace(connection, "support_costs", pl.DataFrame(tiers))
        settings = {
            "default_loaded_hourly_cost": float(costs["default_loaded_hourly_cost"]),
            "ticket_context_switch_minutes": float(costs["ticket_context_switch_minutes"]),
        }
        _replace(connection, "cost_settings", pl.DataFrame([settings]))
        if directory_db is not None and directory_db.exists():
            _sync_directory(connection, directory_db)
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise


def _sync_directory(connection: duckdb.DuckDBPyConnection, directory_db: Path) -> None:
    """Use the embedded directory's people as the roster unless a roster was imported."""
    imported = connection.execute(
        "select count(*) from raw.employees where import_batch <> 'directory'"
    ).fetchone()[0]
    if imported:
        return
    with sqlite3.connect(directory_db) as source:
        rows = source.execute(
            "select employee_id, name, department, location, manager_id, title, hourly_cost "
            "from people"
        ).fetchall()
    columns = [
        "employee_id",
        "name",
        "department",
        "location",
        "manager_id",
        "title",
        "hourly_cost",
    ]
    frame = pl.DataFrame(rows, schema=columns, orient="row").with_columns(
        import_batch=pl.lit("directory")
    )
    connection.execute("delete from raw.employees")
    connection.register("incoming", frame.to_arrow())
    connection.execute("insert into raw.employees select * from incoming")
    connection.unregister("incoming")
