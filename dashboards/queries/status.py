"""What the published warehouse holds: its marts, the days it covers, the filter options."""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime

import duckdb

from dashboards.queries.published import CORE_MARTS, mart_names, published_at, query
from settings import get_settings


@dataclass(frozen=True)
class WarehouseStatus:
    """What the published warehouse holds: its marts, the days it covers, filter options, and
    the catalogue's label of each intent as the warehouse was built with (`dim_intents`)."""

    exists: bool
    marts: frozenset[str] = frozenset()
    first_day: date | None = None
    last_day: date | None = None
    data_through: datetime | None = None
    published_at: datetime | None = None
    departments: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    intents: tuple[str, ...] = ()
    languages: tuple[str, ...] = ()
    intent_labels: dict[str, str] = field(default_factory=dict)

    @property
    def ready(self) -> bool:
        """Whether the core marts are built and hold at least one interaction."""
        return self.marts >= CORE_MARTS and self.first_day is not None


@query("warehouse")
def _status(connection: duckdb.DuckDBPyConnection) -> WarehouseStatus:
    """The marts present, the days covered, the filter options and the intents' labels."""
    marts = frozenset(mart_names(connection))
    if not marts >= CORE_MARTS:
        return WarehouseStatus(exists=True, marts=marts)
    first, last, through = connection.execute(
        "select min(day), max(day), (select max(started_at) from marts.fct_interactions) "
        "from marts.kpi_deflection_daily"
    ).fetchall()[0]

    def distinct(column: str) -> tuple[str, ...]:
        sql = f"select distinct {column} from marts.kpi_deflection_daily order by 1"
        return tuple(row[0] for row in connection.execute(sql).fetchall() if row[0] is not None)

    return WarehouseStatus(
        exists=True,
        marts=marts,
        first_day=first,
        last_day=last,
        data_through=through,
        departments=distinct("department"),
        channels=distinct("channel"),
        intents=distinct("intent"),
        languages=distinct("language"),
        intent_labels=dict(
            connection.execute("select intent, intent_label from marts.dim_intents").fetchall()
        ),
    )


def warehouse_status() -> WarehouseStatus:
    """What the published warehouse holds (`exists` is False until the first publish)."""
    path = get_settings().warehouse_path
    if not path.exists():
        return WarehouseStatus(exists=False)
    return dataclasses.replace(_status(), published_at=published_at(path))
