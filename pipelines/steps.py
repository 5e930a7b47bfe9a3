"""The pipeline's steps as plain, typed functions, and the record of each run.

The Prefect flows in `pipelines/flows.py` only call these; tests call them without Prefect.
Every step returns a `StepOutcome`; a step that must stop the run raises `StepError` (or
`QualityGateError` for a failed critical expectation), and the run record says why.
"""

from __future__ import annotations

import fcntl
import shutil
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import duckdb

from pipelines.publish import publish_ops, publish_warehouse
from pipelines.warehouse import LoadSummary, connect
from unticket.settings import Settings

PIPELINE_RUNS_DDL = """
create schema if not exists ops;
create table if not exists ops.pipeline_runs (
    run_id varchar primary key,
    flow varchar not null,
    started_at timestamp not null,
    finished_at timestamp,
    status varchar not null,  -- running | succeeded | failed
    rows_in bigint,
    rows_out bigint,
    duration_seconds double,
    published boolean,
    error varchar,
    steps json
);
"""


class StepError(RuntimeError):
    """A step could not do its work; the message says what to do next."""


@dataclass
class StepOutcome:
    """What one step did: rows it read and wrote, a one-line summary, and warnings."""

    step: str
    rows_in: int = 0
    rows_out: int = 0
    summary: str = ""
    warnings: list[str] = field(default_factory=list)
    seconds: float = 0.0


@dataclass
class PipelineRun:
    """One run of a flow: its id, the outcomes of its steps so far, and whether it published."""

    flow: str
    settings: Settings
    run_id: str = field(default_factory=lambda: uuid.uuid4().hex)
    started_at: datetime = field(default_factory=lambda: datetime.now(UTC))
    steps: list[StepOutcome] = field(default_factory=list)
    published: bool = False

    def add(self, outcome: StepOutcome) -> StepOutcome:
        """Keep a step's outcome for the run record."""
        self.steps.append(outcome)
        return outcome

    @property
    def rows_in(self) -> int:
        """Rows read from sources (events and imported files)."""
        return sum(step.rows_in for step in self.steps if step.step in ("ingest", "import"))

    @property
    def rows_out(self) -> int:
        """Rows loaded into the warehouse from those sources."""
        return sum(step.rows_out for step in self.steps if step.step in ("ingest", "import"))


def _timed(step: str, work: Callable[[], StepOutcome]) -> StepOutcome:
    began = time.perf_counter()
    outcome = work()
    outcome.step, outcome.seconds = step, round(time.perf_counter() - began, 3)
    return outcome


@contextmanager
def _work_warehouse(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(settings.work_warehouse_path)
    try:
        yield connection
    finally:
        connection.close()


def _from_load(summary: LoadSummary) -> StepOutcome:
    outcome = StepOutcome(step="", rows_in=summary.rows_read, rows_out=summary.rows_loaded)
    outcome.summary = (
        f"{summary.rows_read:,} read, {summary.rows_loaded:,} loaded, "
        f"{summary.rows_quarantined:,} quarantined"
    )
    if summary.rows_quarantined:
        outcome.warnings.append(f"{summary.rows_quarantined:,} {summary.source} rows quarantined")
    return outcome


def ingest(settings: Settings) -> StepOutcome:
    """Load new events from the event log into the working warehouse."""
    from pipelines.ingest import ingest_events

    def work() -> StepOutcome:
        with _work_warehouse(settings) as connection:
            return _from_load(ingest_events(settings.events_dir, connection))

    return _timed("ingest", work)


DROP_KINDS = ("servicenow", "xes", "roster", "csv")


def drop_folder(settings: Settings) -> Path:
    """The watched folder for ticket history and rosters, with one sub-folder per kind:
    `servicenow/`, `xes/`, `roster/`, and `csv/<mapping>/` (the mapping is `csv/<mapping>.yml`
    if dropped there, else `<mappings_dir>/<mapping>.yml`, e.g. `jsm`).
    Imported files move to `imported/`, unusable ones to `failed/` with the reason beside them."""
    return settings.data_dir / "drops"


def _importer(kind: str, path: Path, settings: Settings) -> Callable[..., LoadSummary]:
    from pipelines.importers.csv_mapping import import_csv
    from pipelines.importers.roster import import_roster
    from pipelines.importers.servicenow import import_servicenow
    from pipelines.importers.xes import import_xes

    if kind == "csv":
        dropped = path.parent.with_suffix(".yml")
        mapping = dropped if dropped.exists() else settings.mappings_dir / dropped.name
        return lambda connection: import_csv(path, mapping, connection)
    importers = {"servicenow": import_servicenow, "xes": import_xes, "roster": import_roster}
    return lambda connection: importers[kind](path, connection)


def _dropped_files(folder: Path) -> list[tuple[str, Path]]:
    found = []
    for kind in DROP_KINDS:
        pattern = "*/*" if kind == "csv" else "*"
        for path in sorted((folder / kind).glob(pattern)):
            if path.is_file() and not path.name.startswith("."):
                found.append((kind, path))
    return found


def _move(path: Path, folder: Path, kind: str, stamp: str) -> Path:
    target = folder / kind / f"{stamp}-{path.name}"
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.move(path, target)
    return target


def import_drops(settings: Settings) -> StepOutcome:
    """Import every file dropped into the watched folder (importers are idempotent)."""
    from pipelines.importers.common import ImportFailed

    def work() -> StepOutcome:
        folder = drop_folder(settings)
        outcome = StepOutcome(step="import")
        stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S")
        files = _dropped_files(folder)
        for kind, path in files:
            try:
                with _work_warehouse(settings) as connection:
                    loaded = _from_load(_importer(kind, path, settings)(connection))
            except ImportFailed as error:
                failed = _move(path, folder / "failed", kind, stamp)
                failed.with_name(failed.name + ".error.txt").write_text(f"{error}\n")
                outcome.warnings.append(f"{path.name}: {error}")
                continue
            _move(path, folder / "imported", kind, stamp)
            outcome.rows_in += loaded.rows_in
            outcome.rows_out += loaded.rows_out
            outcome.warnings.extend(loaded.warnings)
        outcome.summary = f"{len(files)} file(s): {outcome.rows_out:,} rows loaded"
        return outcome

    return _timed("import", work)


def _quality(settings: Settings, run_id: str, suite: str) -> StepOutcome:
    from pipelines import quality

    validate = quality.validate_raw if suite == "raw" else quality.validate_marts
    with _work_warehouse(settings) as connection:
        report = validate(connection, quality.quality_dir(settings), run_id)
        quality.record_results(connection, report)
    outcome = StepOutcome(step=f"validate_{suite}", rows_in=len(report.results))
    outcome.summary = "; ".join(report.summary())
    outcome.warnings = [result.line() for result in report.warnings]
    report.raise_for_critical()
    return outcome


def validate_raw(settings: Settings, run_id: str) -> StepOutcome:
    """Check the raw events and imported tickets; a critical failure stops the run."""
    return _timed("validate_raw", lambda: _quality(settings, run_id, "raw"))


def validate_marts(settings: Settings, run_id: str) -> StepOutcome:
    """Check the built marts; a critical failure stops the run before publishing."""
    return _timed("validate_marts", lambda: _quality(settings, run_id, "marts"))


def transform(settings: Settings) -> StepOutcome:
    """`dbt build` the working warehouse (incremental when it can be)."""
    from pipelines.transform import build_warehouse

    def work() -> StepOutcome:
        result = build_warehouse(settings)
        if not result.success:
            raise StepError("dbt build failed: " + "; ".join(result.failures))
        kind = "full refresh" if result.full_refresh else "incremental"
        return StepOutcome(
            step="transform",
            rows_out=result.nodes,
            summary=f"{result.nodes} nodes, {kind}",
            warnings=list(result.warnings),
        )

    return _timed("transform", work)


def train_and_score(settings: Settings, run_id: str) -> StepOutcome:
    """Train the models whose training data changed and score the warehouse with them."""
    from models.pipeline import train_and_score as run_models

    def work() -> StepOutcome:
        with _work_warehouse(settings) as connection:
            trained = run_models(settings, connection, run_id)
        return StepOutcome(
            step="train_and_score", rows_out=trained.rows_scored, summary=trained.summary
        )

    return _timed("train_and_score", work)


def publish(settings: Settings) -> StepOutcome:
    """Publish the working warehouse for readers (atomic rename)."""

    def work() -> StepOutcome:
        published = publish_warehouse(settings.work_warehouse_path, settings.warehouse_path)
        return StepOutcome(step="publish", summary=f"published: {published.sizes()}")

    return _timed("publish", work)


def report(settings: Settings, period: str) -> StepOutcome:
    """Render the IT-leader report from the published warehouse, and deliver it."""
    from pipelines.report import build_report, post_to_slack, report_summary, write_report

    def work() -> StepOutcome:
        connection = duckdb.connect(str(settings.warehouse_path), read_only=True)
        try:
            rendered = build_report(connection, period)
        finally:
            connection.close()
        paths = write_report(rendered, settings.reports_dir)
        outcome = StepOutcome(step="report", summary=f"written to {paths.html}")
        webhook = settings.report_slack_webhook_url
        if webhook is not None:
            post_to_slack(report_summary(rendered, paths), webhook.get_secret_value())
            outcome.summary += "; posted to Slack"
        return outcome

    return _timed("report", work)


@contextmanager
def _exclusive(settings: Settings) -> Iterator[None]:
    """One pipeline run at a time per data dir: the next one waits for the lock."""
    settings.work_warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with (settings.work_warehouse_path.parent / ".pipeline.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _record(run: PipelineRun, status: str, error: str | None) -> None:
    import json

    finished = datetime.now(UTC)
    steps = [
        {
            "step": s.step,
            "rows_in": s.rows_in,
            "rows_out": s.rows_out,
            "seconds": s.seconds,
            "summary": s.summary,
            "warnings": s.warnings,
        }
        for s in run.steps
    ]
    with _work_warehouse(run.settings) as connection:
        connection.execute(PIPELINE_RUNS_DDL)
        connection.execute(
            "insert or replace into ops.pipeline_runs values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            [
                run.run_id,
                run.flow,
                run.started_at.replace(tzinfo=None),
                None if status == "running" else finished.replace(tzinfo=None),
                status,
                run.rows_in,
                run.rows_out,
                (finished - run.started_at).total_seconds(),
                run.published,
                error,
                json.dumps(steps),
            ],
        )


@contextmanager
def recorded_run(flow: str, settings: Settings) -> Iterator[PipelineRun]:
    """Run a flow's steps under the pipeline lock and record the run in `ops.pipeline_runs`
    (and the published `ops.duckdb`), whether it succeeds or fails."""
    with _exclusive(settings):
        run = PipelineRun(flow, settings)
        _record(run, "running", None)
        try:
            yield run
        except BaseException as error:
            message = f"{type(error).__name__}: {error}"
            _record(run, "failed", message[:4000] + "\n" + traceback.format_exc(limit=3)[-2000:])
            raise
        else:
            _record(run, "succeeded", None)
        finally:
            publish_ops(settings.work_warehouse_path, settings.ops_path)
