"""The pipeline's steps as plain, typed functions, and the record of each run.

The Prefect flows in `pipelines/flows.py` only call these; tests call them without Prefect.
Every step returns a `StepOutcome`; a step that must stop the run raises `StepError` (or
`QualityGateError` for a failed critical expectation), and the run record says why.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import stat
import time
import traceback
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import duckdb

from pipelines.publish import publish_ops, publish_warehouse
from pipelines.warehouse import LoadSummary, connect, excerpt
from settings import Settings

if TYPE_CHECKING:
    from pipelines.report import Report, ReportPaths

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


@dataclass
class LoadOutcome(StepOutcome):
    """A loading step's outcome, with the loader's own summary (quarantine reasons, notes)."""

    load: LoadSummary | None = None


@dataclass
class ReportOutcome(StepOutcome):
    """The report step's outcome, and whether its summary was posted to Slack."""

    posted: bool = False


Outcome = TypeVar("Outcome", bound=StepOutcome)


def _timed(step: str, work: Callable[[], Outcome]) -> Outcome:
    began = time.perf_counter()
    outcome = work()
    outcome.step, outcome.seconds = step, round(time.perf_counter() - began, 3)
    return outcome


@contextmanager
def _work_warehouse(settings: Settings) -> Iterator[duckdb.DuckDBPyConnection]:
    connection = connect(settings.work_warehouse_path, memory_limit=settings.duckdb_memory_limit)
    try:
        yield connection
    finally:
        connection.close()


def _from_load(summary: LoadSummary) -> LoadOutcome:
    outcome = LoadOutcome(
        step="", rows_in=summary.rows_read, rows_out=summary.rows_loaded, load=summary
    )
    outcome.summary = (
        f"{summary.rows_read:,} read, {summary.rows_loaded:,} loaded, "
        f"{summary.rows_quarantined:,} quarantined"
    )
    if summary.rows_quarantined:
        outcome.warnings.append(f"{summary.rows_quarantined:,} {summary.source} rows quarantined")
    return outcome


def ingest(settings: Settings) -> LoadOutcome:
    """Load new events from the event log into the working warehouse."""
    from pipelines.ingest import ingest_events

    def work() -> LoadOutcome:
        with _work_warehouse(settings) as connection:
            return _from_load(ingest_events(settings.events_dir, connection))

    return _timed("ingest", work)


def import_file(
    settings: Settings, load: Callable[[duckdb.DuckDBPyConnection], LoadSummary]
) -> LoadOutcome:
    """Import one file into the working warehouse with `load` (an importer bound to the file);
    a file the importer refuses stops the step, and nothing of it is imported."""
    from pipelines.importers.common import ImportFailed

    def work() -> LoadOutcome:
        with _work_warehouse(settings) as connection:
            try:
                return _from_load(load(connection))
            except ImportFailed as error:
                raise StepError(f"{error} (nothing was imported)") from error

    return _timed("import", work)


DROP_KINDS = ("servicenow", "xes", "roster", "csv")
MAX_NAME_BYTES = 255 - len(".error.txt")  # a set-aside file's name, with its reason's beside it
REASON_CHARS = 2000
MAX_EXTENSION_BYTES = 16  # kept when a long name is cut (`.csv.gz`)
_OPEN_UNFOLLOWED = os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC


def drop_folder(settings: Settings) -> Path:
    """The watched folder for ticket history and rosters, with one sub-folder per kind:
    `servicenow/`, `xes/`, `roster/`, and `csv/<mapping>/` (the mapping is `csv/<mapping>.yml`
    if dropped there, else `<mappings_dir>/<mapping>.yml`, e.g. `jsm`).
    Imported files move to `imported/`, unusable ones to `failed/` with the reason beside them."""
    return settings.data_dir / "drops"


@dataclass(frozen=True)
class Dropped:
    """An entry of the drop folder, as `lstat` saw it (a symbolic link is never followed), and
    why it cannot be imported, when that shows before it is read."""

    kind: str
    path: Path
    status: os.stat_result
    refusal: str | None

    @property
    def version(self) -> list[int]:
        """Its size and modification time: a file that changes is a new drop."""
        return [self.status.st_size, self.status.st_mtime_ns]


def _entries(folder: Path) -> list[Path]:
    """A folder's entries, sorted, leaving out hidden ones."""
    return sorted(entry for entry in folder.iterdir() if not entry.name.startswith("."))


def _is_folder(path: Path) -> bool:
    """Whether a path is a folder itself (a symbolic link to one is not)."""
    return path.is_dir() and not path.is_symlink()


def _refusal(path: Path, status: os.stat_result) -> str | None:
    """Why an entry cannot be imported, decided without reading it: a symbolic link, a
    folder or device, an empty file, or a file that cannot be opened."""
    if stat.S_ISLNK(status.st_mode):
        return "symbolic link refused"
    if not stat.S_ISREG(status.st_mode):
        return "not a regular file"
    if status.st_size == 0:
        return "empty file"
    try:
        descriptor = os.open(path, _OPEN_UNFOLLOWED)
    except OSError as error:
        if error.errno == errno.ELOOP:
            return "symbolic link refused"
        return f"cannot be read: {error.strerror}"
    try:
        opened = os.fstat(descriptor)
    finally:
        os.close(descriptor)
    if (opened.st_dev, opened.st_ino) != (status.st_dev, status.st_ino):
        return "replaced while it was being checked"
    return None


def _mapping_refusal(path: Path) -> str | None:
    """Why a CSV export's dropped mapping (`csv/<mapping>.yml`) cannot be used, if it cannot."""
    mapping = path.parent.with_suffix(".yml")
    if not os.path.lexists(mapping):
        return None
    if mapping.is_symlink():
        return f"its mapping csv/{excerpt(mapping.name)} is a symbolic link: refused"
    if not mapping.is_file():
        return f"its mapping csv/{excerpt(mapping.name)} is not a regular file"
    return None


def _dropped(kind: str, path: Path, refusal: str | None = None) -> Dropped:
    status = path.lstat()
    return Dropped(kind, path, status, _refusal(path, status) or refusal)


def _csv_drops(folder: Path) -> list[Dropped]:
    """The exports in `csv/<mapping>/` folders, and whatever else in `csv/` is not a mapping."""
    found = []
    for entry in _entries(folder):
        if _is_folder(entry):
            found.extend(_dropped("csv", path, _mapping_refusal(path)) for path in _entries(entry))
        elif entry.suffix != ".yml" or entry.is_symlink() or not entry.is_file():
            found.append(_dropped("csv", entry, "not in a mapping folder (csv/<mapping>/)"))
    return found


def _dropped_files(folder: Path, warnings: list[str]) -> list[Dropped]:
    """Everything dropped in the kinds' folders, in order; a kind's folder that is a symbolic
    link is not read (a warning says so)."""
    found = []
    for kind in DROP_KINDS:
        base = folder / kind
        if base.is_symlink():
            warnings.append(f"drops/{kind} is a symbolic link: refused, nothing in it was read")
        elif kind == "csv" and base.is_dir():
            found.extend(_csv_drops(base))
        elif base.is_dir():
            found.extend(_dropped(kind, entry) for entry in _entries(base))
    return found


def _importer(kind: str, path: Path, settings: Settings) -> Callable[..., LoadSummary]:
    from pipelines.importers.csv_mapping import import_csv
    from pipelines.importers.roster import import_roster
    from pipelines.importers.servicenow import import_servicenow
    from pipelines.importers.xes import import_xes

    if kind == "csv":
        dropped = path.parent.with_suffix(".yml")
        mapping = dropped if os.path.lexists(dropped) else settings.mappings_dir / dropped.name
        return lambda connection: import_csv(path, mapping, connection)
    importers = {"servicenow": import_servicenow, "xes": import_xes, "roster": import_roster}
    return lambda connection: importers[kind](path, connection)


def _import(entry: Dropped, settings: Settings) -> tuple[StepOutcome | None, str | None]:
    """Import one dropped file; return what it loaded, or why it could not be imported."""
    from pipelines.importers.common import ImportFailed

    importer = _importer(entry.kind, entry.path, settings)
    with _work_warehouse(settings) as connection:
        try:
            return _from_load(importer(connection)), None
        except ImportFailed as error:
            return None, excerpt(str(error), REASON_CHARS)
        except Exception as error:  # the file, not the pipeline: set it aside, go on
            return None, f"could not be imported: {type(error).__name__}: {excerpt(str(error))}"


def _target_name(stamp: str, name: str, copy: int) -> str:
    """`<stamp>-<name>`, with `-<copy>` before the extension from the second copy on, cut to
    fit the file system beside its `.error.txt`: a long name keeps its start, a hash of the
    whole name and its extension."""
    raw = os.fsencode(name)
    extension = os.fsencode("".join(Path(name).suffixes[-2:]))
    if len(extension) > MAX_EXTENSION_BYTES:
        extension = b""
    stem, prefix = raw[: len(raw) - len(extension)], stamp.encode() + b"-"
    tag = b"-%d" % copy if copy > 1 else b""
    if len(prefix + stem + tag + extension) > MAX_NAME_BYTES:
        digest = b"~" + hashlib.sha256(raw).hexdigest()[:12].encode()
        stem = stem[: MAX_NAME_BYTES - len(prefix + digest + tag + extension)] + digest
    return os.fsdecode(prefix + stem + tag + extension)


def _folder_for(folder: Path) -> Path:
    """Create `folder` (and its parent) if needed; refuse one that is a symbolic link."""
    for path in (folder.parent, folder):
        with contextlib.suppress(FileExistsError):
            path.mkdir()
        if not _is_folder(path):
            raise NotADirectoryError(errno.ENOTDIR, f"{path.name} is not a folder", str(path))
    return folder


def _move(path: Path, folder: Path, stamp: str) -> Path:
    """Move a dropped file (a symbolic link itself, never its target) into `folder` under a
    new name that fits and is not taken."""
    _folder_for(folder)
    copy = 1
    target = folder / _target_name(stamp, path.name, copy)
    while os.path.lexists(target) or os.path.lexists(f"{target}.error.txt"):
        copy += 1
        target = folder / _target_name(stamp, path.name, copy)
    os.rename(path, target)
    return target


def _write_new(path: Path, text: str) -> None:
    """Write a new file, never through a symbolic link or over an existing file."""
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW | os.O_CLOEXEC
    with os.fdopen(os.open(path, flags, 0o644), "w", encoding="utf-8") as handle:
        handle.write(text)


@dataclass
class _Drops:
    """One import of the drop folder: where files go, and the drops left where they are
    because they could not be moved (`drops-unmovable.json` in the work folder, by path with
    size and modification time): those are skipped until they change, never retried forever."""

    folder: Path
    stamp: str
    outcome: StepOutcome
    unmovable_file: Path
    unmovable: dict[str, list[int]] = field(default_factory=dict)
    still_unmovable: dict[str, list[int]] = field(default_factory=dict)

    def skipped(self, entry: Dropped) -> bool:
        """Whether a drop is one that could not be moved before, unchanged since."""
        if self.unmovable.get(str(entry.path)) != entry.version:
            return False
        self.still_unmovable[str(entry.path)] = entry.version
        return True

    def put_away(self, entry: Dropped, reason: str | None) -> None:
        """Move a drop to `imported/` or, with its reason beside it, to `failed/`; record
        it as unmovable (with a warning) if it cannot be moved."""
        shown = excerpt(entry.path.name)
        destination = "imported" if reason is None else "failed"
        try:
            target = _move(entry.path, self.folder / destination / entry.kind, self.stamp)
        except OSError as error:
            self.still_unmovable[str(entry.path)] = entry.version
            self.outcome.warnings.append(
                f"{shown}: {reason or 'imported'}; it could not be moved to {destination}/ "
                f"({error.strerror or error}), so it is skipped until it changes: remove it"
            )
            return
        if reason is not None:
            self.outcome.warnings.append(f"{shown}: {reason}")
            try:
                _write_new(target.with_name(target.name + ".error.txt"), reason + "\n")
            except OSError as error:
                self.outcome.warnings.append(f"{shown}: its reason was not written ({error})")

    def save(self) -> None:
        """Keep the list of unmovable drops for the next run (only those still there)."""
        if self.still_unmovable or self.unmovable_file.exists():
            staging = self.unmovable_file.with_suffix(".tmp")
            staging.write_text(json.dumps(self.still_unmovable, indent=1))
            os.replace(staging, self.unmovable_file)


def _read_unmovable(path: Path) -> dict[str, list[int]]:
    try:
        return json.loads(path.read_text())
    except FileNotFoundError:
        return {}


def import_drops(settings: Settings) -> StepOutcome:
    """Import every file dropped into the watched folder (importers are idempotent). A file
    that cannot be imported is set aside in `failed/` with its reason, and the run goes on."""

    def work() -> StepOutcome:
        unmovable_file = settings.work_warehouse_path.parent / "drops-unmovable.json"
        drops = _Drops(
            folder=drop_folder(settings),
            stamp=datetime.now(UTC).strftime("%Y%m%dT%H%M%S"),
            outcome=StepOutcome(step="import"),
            unmovable_file=unmovable_file,
            unmovable=_read_unmovable(unmovable_file),
        )
        outcome = drops.outcome
        found = _dropped_files(drops.folder, outcome.warnings)
        waiting = [entry for entry in found if not drops.skipped(entry)]
        for entry in waiting:
            loaded, reason = (None, entry.refusal) if entry.refusal else _import(entry, settings)
            if loaded is not None:
                outcome.rows_in += loaded.rows_in
                outcome.rows_out += loaded.rows_out
                outcome.warnings.extend(loaded.warnings)
            drops.put_away(entry, reason)
        drops.save()
        outcome.summary = f"{len(waiting)} file(s): {outcome.rows_out:,} rows loaded"
        if len(found) > len(waiting):
            outcome.summary += f"; {len(found) - len(waiting)} unmovable file(s) skipped"
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
    from pipelines.transform import build_warehouse, engine_label

    def work() -> StepOutcome:
        result = build_warehouse(settings)
        if not result.success:
            raise StepError("dbt build failed: " + "; ".join(result.failures))
        kind = "full refresh" if result.full_refresh else "incremental"
        summary = f"{result.nodes} nodes, {kind}, on {engine_label(settings)}"
        if result.phases:
            summary += f" ({result.timings()})"
        return StepOutcome(
            step="transform",
            rows_out=result.nodes,
            summary=summary,
            warnings=list(result.warnings),
        )

    return _timed("transform", work)


def train_and_score(settings: Settings, run_id: str) -> StepOutcome:
    """Train the models whose training data changed and score the warehouse with them; propose
    intent examples from resolved escalations and retrain with the accepted ones; draft
    knowledge articles from resolved escalations for review."""
    from catalogue import cached_catalogue
    from learning.candidates import learn_from_escalations
    from learning.drafts import approval_log, refresh_drafts
    from models.pipeline import SEED
    from models.pipeline import train_and_score as run_models
    from resolver.llm import LlmProvider

    def work() -> StepOutcome:
        catalogue = cached_catalogue(settings.catalogue_dir)
        llm = LlmProvider.from_settings(settings)  # None unless configured: nothing is sent
        try:
            with (
                _work_warehouse(settings) as connection,
                contextlib.closing(approval_log(settings)) as log,
            ):
                trained = run_models(settings, connection, run_id)
                trained.lines.extend(learn_from_escalations(settings, connection, run_id))
                trained.lines.append(
                    refresh_drafts(
                        connection, settings.data_dir, catalogue, seed=SEED, llm=llm, log=log
                    )
                )
        finally:
            if llm is not None:
                llm.close()
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


def slack_webhook(settings: Settings) -> str | None:
    """The Slack webhook the report is posted to; None when unset or empty."""
    webhook = settings.report_slack_webhook_url
    url = webhook.get_secret_value() if webhook is not None else ""
    return url or None


def _gather_report(settings: Settings, period: str, as_of: date | None) -> Report:
    """The report of the last complete `period` before `as_of`, from the published warehouse."""
    from pipelines.report import build_report

    if not settings.warehouse_path.exists():
        raise StepError("no warehouse yet: run `unticket ingest` and `unticket build`")
    connection = duckdb.connect(str(settings.warehouse_path), read_only=True)
    try:
        return build_report(connection, period, as_of)
    except duckdb.Error as error:
        first_line = str(error).splitlines()[0]
        raise StepError(f"the marts are not built ({first_line}); run `unticket build`") from error
    finally:
        connection.close()


def report(
    settings: Settings,
    period: str,
    as_of: date | None = None,
    directory: Path | None = None,
    on_written: Callable[[Report, ReportPaths], None] | None = None,
) -> ReportOutcome:
    """Render the IT-leader report of the last complete `period` before `as_of` (default: see
    `build_report`) from the published warehouse into `directory` (default: the reports
    folder), show it to `on_written`, then post its summary to Slack if a webhook is set."""
    from pipelines.report import DeliveryError, post_to_slack, report_summary, write_report

    folder = directory or settings.reports_dir

    def work() -> ReportOutcome:
        rendered = _gather_report(settings, period, as_of)
        try:
            paths = write_report(rendered, folder)
        except OSError as error:
            reason = error.strerror or error
            raise StepError(f"could not write the report into {folder}: {reason}") from error
        if on_written is not None:
            on_written(rendered, paths)
        outcome = ReportOutcome(step="report", summary=f"written to {paths.html}")
        webhook = slack_webhook(settings)
        if webhook is not None:
            try:
                post_to_slack(report_summary(rendered, paths), webhook)
            except DeliveryError as error:
                raise StepError(f"{error}. The report is written: {paths.html}") from error
            outcome.summary += "; posted to Slack"
            outcome.posted = True
        return outcome

    return _timed("report", work)


def lock_path(settings: Settings) -> Path:
    """The data dir's pipeline lock: every recorded run holds it from start to end."""
    return settings.work_warehouse_path.parent / ".pipeline.lock"


@contextmanager
def pipeline_lock(settings: Settings) -> Iterator[None]:
    """One pipeline run at a time per data dir: the next one waits for the lock."""
    settings.work_warehouse_path.parent.mkdir(parents=True, exist_ok=True)
    with lock_path(settings).open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)


def _record(run: PipelineRun, status: str, error: str | None) -> None:
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


def _close_interrupted(settings: Settings) -> None:
    """Record runs still `running` as failed, "interrupted": this is called under the pipeline
    lock, which every live run holds, so they were killed (a run killed outright, by SIGKILL or
    a power cut, could not record its end)."""
    with _work_warehouse(settings) as connection:
        connection.execute(PIPELINE_RUNS_DDL)
        connection.execute(
            "update ops.pipeline_runs set status = 'failed', error = 'interrupted', "
            "duration_seconds = null where status = 'running'"
        )


@contextmanager
def recorded_run(flow: str, settings: Settings) -> Iterator[PipelineRun]:
    """Run a flow's steps under the pipeline lock and record the run in `ops.pipeline_runs`
    (and the published `ops.duckdb`), whether it succeeds or fails; first record runs that were
    killed as interrupted."""
    with pipeline_lock(settings):
        _close_interrupted(settings)
        run = PipelineRun(flow, settings)
        _record(run, "running", None)
        try:
            yield run
        except BaseException as error:
            message = excerpt(f"{type(error).__name__}: {error}", 4000)
            frames = "".join(traceback.format_tb(error.__traceback__, limit=3))[-2000:]
            _record(run, "failed", message + "\n" + frames)
            raise
        else:
            _record(run, "succeeded", None)
        finally:
            publish_ops(settings.work_warehouse_path, settings.ops_path)


@dataclass(frozen=True)
class RunRecord:
    """One recorded run, as `ops.pipeline_runs` holds it."""

    run_id: str
    flow: str
    status: str
    duration_seconds: float | None
    error: str | None
    steps: list[dict[str, Any]]


def read_run(ops_path: Path, run_id: str | None = None) -> RunRecord | None:
    """A recorded run from the published ops file (`run_id`, else the latest); None if there
    is none yet."""
    if not ops_path.exists():
        return None
    with duckdb.connect(str(ops_path), read_only=True) as connection:
        row = connection.execute(
            "select run_id, flow, status, duration_seconds, error, steps from pipeline_runs "
            "where run_id = coalesce(?, run_id) order by started_at desc limit 1",
            [run_id],
        ).fetchone()
    if row is None:
        return None
    return RunRecord(*row[:5], steps=json.loads(row[5]))
