"""Results of a validation (`QualityReport`, the gate), their table `ops.dq_results`, and the
GX Data Docs sites under `<data_dir>/quality/` (one per stage, with an index linking them)."""

from __future__ import annotations

import shutil
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

import duckdb

from pipelines.quality.checks import CRITICAL, WARNING, Severity

if TYPE_CHECKING:
    from settings import Settings

SITE_NAME = "unticket"  # the one Data Docs site of each GX context


@dataclass(frozen=True)
class ExpectationResult:
    """The outcome of one expectation in one run."""

    suite: str
    dataset: str
    expectation: str  # stable key: dataset.column[subset]:expectation_type
    expectation_type: str
    column: str
    description: str
    severity: Severity
    success: bool
    observed_value: str | None  # JSON
    unexpected_count: int | None
    element_count: int | None
    details: str | None  # JSON: the failing values or rows, or the error
    evaluated_by: str

    def line(self) -> str:
        """One human-readable line."""
        status = "ok" if self.success else ("FAILED" if self.severity == CRITICAL else "warning")
        found = _readable(self.observed_value)
        if self.unexpected_count:
            found = f"{self.unexpected_count} unexpected"
        extra = f" — {found}" if found else ""
        detail = f": {self.details}" if self.details and not self.success else ""
        return f"[{status}] {self.suite}/{self.dataset}: {self.description}{extra}{detail}"


def _readable(observed: str | None) -> str:
    """An observed value for people: numbers to 4 significant digits."""
    try:
        return f"{float(observed):,.4g}" if observed is not None else ""
    except ValueError:
        return observed or ""


@dataclass
class QualityReport:
    """All expectation results of one validation call, and where its Data Docs are."""

    run_id: str
    checked_at: datetime  # UTC, naive like the warehouse's timestamps
    results: list[ExpectationResult] = field(default_factory=list)
    data_docs: Path | None = None  # index.html of this call's Data Docs site

    @property
    def suites(self) -> list[str]:
        """The suites validated, in order."""
        return list(dict.fromkeys(result.suite for result in self.results))

    @property
    def failures(self) -> list[ExpectationResult]:
        """Failed critical expectations: any one of them blocks publishing."""
        return [r for r in self.results if not r.success and r.severity == CRITICAL]

    @property
    def warnings(self) -> list[ExpectationResult]:
        """Failed warning expectations: recorded, the run continues."""
        return [r for r in self.results if not r.success and r.severity == WARNING]

    @property
    def passed_critical(self) -> bool:
        """True when no critical expectation failed: the warehouse may be published."""
        return not self.failures

    def summary(self) -> list[str]:
        """A headline, then one line per failed expectation (critical first)."""
        verdict = "publishable" if self.passed_critical else "DO NOT PUBLISH"
        head = (
            f"{', '.join(self.suites)}: {len(self.results)} expectations, "
            f"{len(self.failures)} critical failure(s), {len(self.warnings)} warning(s) "
            f"— {verdict}"
        )
        docs = [f"Data Docs: {self.data_docs}"] if self.data_docs else []
        return [head, *(r.line() for r in self.failures + self.warnings), *docs]

    def raise_for_critical(self) -> None:
        """Raise `QualityGateError` if a critical expectation failed."""
        if not self.passed_critical:
            raise QualityGateError(self)


class QualityGateError(RuntimeError):
    """A critical expectation failed: the warehouse must not be published."""

    def __init__(self, report: QualityReport) -> None:
        super().__init__("\n".join(report.summary()))
        self.report = report


def quality_dir(settings: Settings) -> Path:
    """Where Data Docs go for a settings object: `<data_dir>/quality`."""
    return settings.data_dir / "quality"


def build_docs(context: Any, site_dir: Path) -> Path:
    """Replace the site at `site_dir` with this run's Data Docs; refresh the parent index."""
    shutil.rmtree(site_dir, ignore_errors=True)
    context.build_data_docs(site_names=[SITE_NAME])
    _write_index(site_dir.parent)
    return site_dir / "index.html"


def _write_index(data_docs_dir: Path) -> None:
    """A small index.html linking every site (raw, marts) under the Data Docs folder."""
    links = "".join(
        f'<li><a href="{site.parent.name}/index.html">{site.parent.name}</a></li>'
        for site in sorted(data_docs_dir.glob("*/index.html"))
    )
    (data_docs_dir / "index.html").write_text(
        "<!doctype html><meta charset='utf-8'><title>Unticket data quality</title>"
        f"<h1>Unticket data quality</h1><p>The latest run of each stage.</p><ul>{links}</ul>\n",
        encoding="utf-8",
    )


DQ_RESULTS_DDL = """
create schema if not exists ops;
create table if not exists ops.dq_results (
    run_id varchar not null,
    suite varchar not null,               -- raw_events | imported_tickets | marts
    expectation varchar not null,         -- dataset.column[subset]:expectation_type
    dataset varchar not null,             -- the validated frame, e.g. events_summary
    expectation_type varchar not null,    -- GX expectation, e.g. expect_column_max_to_be_between
    column_name varchar not null,
    description varchar not null,
    severity varchar not null check (severity in ('critical', 'warning')),
    success boolean not null,
    observed_value varchar,               -- JSON
    unexpected_count bigint,
    element_count bigint,
    details varchar,                      -- JSON: failing values or rows, or the error
    evaluated_by varchar not null,        -- how the frame was computed
    checked_at timestamp not null,        -- UTC
    data_docs varchar,                    -- index.html of the run's Data Docs
    primary key (run_id, suite, expectation)
);
"""


def record_results(connection: duckdb.DuckDBPyConnection, report: QualityReport) -> int:
    """Store a report in ops.dq_results (created if missing); return the rows written.

    Idempotent: the report's suites' earlier rows for the same run_id are replaced, in one
    transaction, so re-recording a run never duplicates rows.
    """
    connection.execute(DQ_RESULTS_DDL)
    docs = str(report.data_docs) if report.data_docs else None
    rows = [
        [
            report.run_id,
            *(r.suite, r.expectation, r.dataset, r.expectation_type, r.column, r.description),
            *(r.severity, r.success, r.observed_value, r.unexpected_count, r.element_count),
            *(r.details, r.evaluated_by, report.checked_at, docs),
        ]
        for r in report.results
    ]
    connection.execute("begin transaction")
    try:
        connection.execute(
            "delete from ops.dq_results where run_id = ? and suite in (select unnest(?))",
            [report.run_id, report.suites],
        )
        if rows:
            placeholders = ", ".join("?" * len(rows[0]))
            connection.executemany(f"insert into ops.dq_results values ({placeholders})", rows)
        connection.execute("commit")
    except BaseException:
        connection.execute("rollback")
        raise
    return len(rows)
