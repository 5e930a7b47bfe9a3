"""The Great Expectations adapter: each dataset's frame, computed in DuckDB, validated by GX
through an ephemeral context (pandas datasource → dataframe asset → batch definition →
validation definition), and the results as `ExpectationResult`s. GX is imported only inside
these functions (≈ 5 s, 260 MB)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.quality.checks import DEFAULT_THRESHOLDS, Check, Dataset, Thresholds
from pipelines.quality.marts import mart_datasets
from pipelines.quality.raw import raw_datasets
from pipelines.quality.results import SITE_NAME, ExpectationResult, QualityReport, build_docs

if TYPE_CHECKING:
    import pandas as pd


def _naive_utc(moment: datetime | None) -> datetime:
    """`moment` (default: now) as a naive UTC time, like the warehouse's timestamps."""
    moment = moment or datetime.now(UTC)
    return moment.astimezone(UTC).replace(tzinfo=None) if moment.tzinfo else moment


def validate_raw(
    connection: duckdb.DuckDBPyConnection,
    data_docs_dir: Path,
    run_id: str,
    *,
    now: datetime | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> QualityReport:
    """Validate raw.events and the imported tickets (after loading, before `dbt build`).

    `now` (naive UTC, default the current time) is the moment "future" and "stale" refer to.
    Data Docs go to `<data_docs_dir>/raw/`.
    """
    now = _naive_utc(now)
    datasets = raw_datasets(now, thresholds)
    return validate(connection, datasets, data_docs_dir / "raw", run_id, now)


def validate_marts(
    connection: duckdb.DuckDBPyConnection,
    data_docs_dir: Path,
    run_id: str,
    *,
    now: datetime | None = None,
    thresholds: Thresholds = DEFAULT_THRESHOLDS,
) -> QualityReport:
    """Validate the marts (after `dbt build`, before publishing). Data Docs: `<dir>/marts/`."""
    now = _naive_utc(now)
    return validate(connection, mart_datasets(thresholds), data_docs_dir / "marts", run_id, now)


def validate(
    connection: duckdb.DuckDBPyConnection,
    datasets: Sequence[Dataset],
    site_dir: Path,
    run_id: str,
    checked_at: datetime,
) -> QualityReport:
    """Compute each dataset's frame, validate it with GX and build the Data Docs at `site_dir`.

    One ephemeral GX context per call. A dataset whose query fails (a missing table or column)
    fails all its checks, with the error as details, rather than stopping the run.
    """
    context = _gx_context(site_dir)
    report = QualityReport(run_id=run_id, checked_at=checked_at)
    for dataset in datasets:
        try:
            frame = connection.execute(dataset.sql, dataset.parameters).df()
        except duckdb.Error as error:
            report.results.extend(_errored(dataset, f"query failed: {error}"))
            continue
        report.results.extend(_run_dataset(context, dataset, frame, run_id, checked_at))
    report.data_docs = build_docs(context, site_dir)
    return report


def _gx_context(site_dir: Path) -> Any:
    """An ephemeral GX context whose only Data Docs site is `site_dir`, with no progress bars."""
    import great_expectations as gx
    from great_expectations.data_context.types.base import (
        DataContextConfig,
        InMemoryStoreBackendDefaults,
        ProgressBarsConfig,
    )

    site = {
        "class_name": "SiteBuilder",
        "store_backend": {
            "class_name": "TupleFilesystemStoreBackend",
            "base_directory": str(site_dir),
        },
        "site_index_builder": {"class_name": "DefaultSiteIndexBuilder"},
    }
    config = DataContextConfig(
        store_backend_defaults=InMemoryStoreBackendDefaults(),
        data_docs_sites={SITE_NAME: site},
        analytics_enabled=False,
        progress_bars=ProgressBarsConfig(globally=False),
    )
    context = gx.get_context(mode="ephemeral", project_config=config)
    context.data_sources.add_pandas("warehouse")
    return context


def _expectation(check: Check, dataset: Dataset) -> Any:
    """The GX expectation of a check, with its severity, description and how it is evaluated."""
    import great_expectations.expectations as gxe
    from great_expectations.expectations.row_conditions import Column

    kwargs: dict[str, Any] = dict(check.kwargs)
    if check.subset is not None:
        kwargs["row_condition"] = Column("field") == check.subset
    return getattr(gxe, check.expectation)(
        column=check.column,
        severity=check.severity,
        description=f"{check.severity}: {check.description}",
        notes=dataset.how,
        meta={"key": _key(dataset, check), "severity": check.severity},
        **kwargs,
    )


def _key(dataset: Dataset, check: Check) -> str:
    """The expectation's stable key: dataset.column[subset]:expectation_type."""
    subset = f"[{check.subset}]" if check.subset else ""
    return f"{dataset.name}.{check.column}{subset}:{_snake(check.expectation)}"


def _snake(name: str) -> str:
    """ExpectColumnMaxToBeBetween → expect_column_max_to_be_between."""
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in name).lstrip("_")


def _run_dataset(
    context: Any, dataset: Dataset, frame: pd.DataFrame, run_id: str, checked_at: datetime
) -> list[ExpectationResult]:
    """Validate one frame with one GX suite and validation definition; return its results."""
    import great_expectations as gx
    from great_expectations.core.run_identifier import RunIdentifier

    name = f"{dataset.suite}.{dataset.name}"
    asset = context.data_sources.get("warehouse").add_dataframe_asset(name)
    batch = asset.add_batch_definition_whole_dataframe(name)
    suite = context.suites.add(gx.ExpectationSuite(name=name))
    for check in dataset.checks:
        suite.add_expectation(_expectation(check, dataset))
    definition = gx.ValidationDefinition(name=name, data=batch, suite=suite)
    validation = context.validation_definitions.add(definition)
    result_format = {
        "result_format": "SUMMARY",
        "unexpected_index_column_names": list(dataset.index),
    }
    outcome = validation.run(
        batch_parameters={"dataframe": frame},
        result_format=result_format,
        run_id=RunIdentifier(run_name=run_id, run_time=checked_at.replace(tzinfo=UTC)),
    )
    checks = {_key(dataset, check): check for check in dataset.checks}
    return [_result(dataset, checks[r.expectation_config.meta["key"]], r) for r in outcome.results]


def _json(value: Any) -> str | None:
    """JSON text of a GX result value (numpy scalars included); None for None."""
    if value is None:
        return None
    return json.dumps(value, default=lambda v: v.item() if hasattr(v, "item") else str(v))


def _result(dataset: Dataset, check: Check, validation: Any) -> ExpectationResult:
    """Our record of one GX expectation result."""
    result = validation.result or {}
    error = validation.exception_info or {}
    details: Any = None
    if error.get("raised_exception"):
        details = error.get("exception_message")
    elif not validation.success:
        details = (
            result.get("partial_unexpected_index_list")
            or result.get("partial_unexpected_list")
            or result.get("partial_missing_list")
        )
    return _record(dataset, check, bool(validation.success), details, result)


def _errored(dataset: Dataset, message: str) -> list[ExpectationResult]:
    """Failed results for every check of a dataset that could not be computed."""
    return [_record(dataset, check, False, message) for check in dataset.checks]


def _record(
    dataset: Dataset,
    check: Check,
    success: bool,
    details: Any = None,
    result: dict[str, Any] | None = None,
) -> ExpectationResult:
    """An ExpectationResult of a check, from GX's result dict (if any) and failure details."""
    result = result or {}
    return ExpectationResult(
        suite=dataset.suite,
        dataset=dataset.name,
        expectation=_key(dataset, check),
        expectation_type=_snake(check.expectation),
        column=check.column,
        description=check.description,
        severity=check.severity,
        success=success,
        observed_value=_json(result.get("observed_value")),
        unexpected_count=result.get("unexpected_count"),
        element_count=result.get("element_count"),
        details=_json(details),
        evaluated_by=dataset.how,
    )
