"""Data quality of the warehouse, checked with Great Expectations (GX 1.x) before publishing.

Three suites: `raw_events` (the loaded event log), `imported_tickets` (ticket history from
other tools), both checked by `validate_raw` after loading, and `marts` (what analysts and
dashboards read), checked by `validate_marts` after `dbt build`. Every expectation has a
severity: a failed `critical` one means the warehouse must not be published
(`QualityReport.passed_critical` is False); a failed `warning` is recorded and the run goes on.

GX and dbt split the work: dbt's data tests (not_null, unique, accepted_values, the ranges of
the tested rates) run inside `dbt build`, whose failure stops the run too, and are not repeated
here; GX keeps what dbt does not check: the raw tables' schema, times, freshness and quarantine,
event_id unique across loads (dbt tests one build's new events), the profile of the other enum
values, ranges and durations dbt leaves alone, and reconciliation of KPI totals with the facts.

How a check is evaluated: the warehouse can hold tens of millions of events, so nothing row-level
is pulled into pandas. Each *dataset* is one DuckDB query over the warehouse that returns a small
frame — a single row of aggregates (counts of offending rows, staleness), a profile of the
distinct values of enum columns (at most `PROFILE_LIMIT` per column), or one row per measure
(ranges of rates and durations, fact-vs-KPI totals) — and GX validates that frame through an
ephemeral context (pandas datasource → dataframe asset → batch definition → validation
definition). GX's SQL datasource is not used: on DuckDB it closes the connection before fetching.
Each expectation's `notes` say how its frame is computed; its `severity` is GX's own field.

Results go to `ops.dq_results` (`record_results`) and to GX Data Docs (HTML) under
`<data_docs_dir>/raw/` and `<data_docs_dir>/marts/` (the latest run of each), with an
`index.html` linking both. GX is imported only inside the validation functions (≈ 5 s, 260 MB).

Modules: `checks` (severities, thresholds, checks and datasets), `raw` and `marts` (the suites),
`gx` (the GX adapter and the two entry points), `results` (the report, its table, Data Docs).
"""

from pipelines.quality.checks import (
    CRITICAL,
    DEFAULT_THRESHOLDS,
    WARNING,
    Check,
    Dataset,
    Severity,
    Thresholds,
)
from pipelines.quality.gx import validate, validate_marts, validate_raw
from pipelines.quality.marts import mart_datasets
from pipelines.quality.raw import raw_datasets
from pipelines.quality.results import (
    DQ_RESULTS_DDL,
    ExpectationResult,
    QualityGateError,
    QualityReport,
    quality_dir,
    record_results,
)

__all__ = [
    "CRITICAL",
    "DEFAULT_THRESHOLDS",
    "DQ_RESULTS_DDL",
    "WARNING",
    "Check",
    "Dataset",
    "ExpectationResult",
    "QualityGateError",
    "QualityReport",
    "Severity",
    "Thresholds",
    "mart_datasets",
    "quality_dir",
    "raw_datasets",
    "record_results",
    "validate",
    "validate_marts",
    "validate_raw",
]
