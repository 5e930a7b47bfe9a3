"""Every query the dashboards run, on the published files only, read-only and cached: one module
per page (`overview`, `deflection`, `speed`, `impact`, `knowledge`, `health`), and `published`
for the connections, the filters and the cache they share.

Each page's data is read by one function, through one short-lived connection that is
closed before the page draws: the warehouse is only ever replaced whole by an atomic rename, so
a reader never blocks a pipeline and never sees half a build. Results are cached
(`st.cache_data`) under the file's identity (inode, modification time, size), so a new publish
is picked up on the next rerun. The filters (department, channel, intent, language) are applied
once, as views over the marts in an in-memory database that attaches the warehouse: the KPI
formulas of `pipelines.kpis` and `pipelines.report` then run unchanged on the filtered data.
"""

from dashboards.queries.deflection import Deflection, deflection, interactions
from dashboards.queries.health import Health, health, steps_of
from dashboards.queries.impact import (
    Productivity,
    Ranking,
    SavingsBasis,
    pareto,
    priorities,
    productivity,
    savings_basis,
)
from dashboards.queries.knowledge import (
    Knowledge,
    knowledge,
    learned_article_deflection,
    text_of,
)
from dashboards.queries.overview import TILES, Overview, overview
from dashboards.queries.published import CORE_MARTS, Filters, QueryError, clear_cache
from dashboards.queries.speed import SPEED_BUCKETS, SPEED_DIMENSIONS, Speed, resolution_speed
from dashboards.queries.status import WarehouseStatus, warehouse_status

__all__ = [
    "CORE_MARTS",
    "SPEED_BUCKETS",
    "SPEED_DIMENSIONS",
    "TILES",
    "Deflection",
    "Filters",
    "Health",
    "Knowledge",
    "Overview",
    "Productivity",
    "QueryError",
    "Ranking",
    "SavingsBasis",
    "Speed",
    "WarehouseStatus",
    "clear_cache",
    "deflection",
    "health",
    "interactions",
    "knowledge",
    "learned_article_deflection",
    "overview",
    "pareto",
    "priorities",
    "productivity",
    "resolution_speed",
    "savings_basis",
    "steps_of",
    "text_of",
    "warehouse_status",
]
