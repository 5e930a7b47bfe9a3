"""Prefect flows: thin compositions of the plain steps in `pipelines/steps.py`.

Every task calls one step and returns its outcome; only the steps that touch files or the
network retry. Tasks never cache (each run must do its work again). The schedules live in
`SCHEDULES`, in this one place.
"""

from __future__ import annotations

from dataclasses import dataclass

from prefect import flow, get_run_logger, task
from prefect.cache_policies import NO_CACHE

from pipelines import steps
from pipelines.steps import StepOutcome
from settings import Settings, get_settings


@dataclass(frozen=True)
class Schedule:
    """When a flow runs by itself (cron, in the time zone below)."""

    flow: str
    cron: str
    description: str


TIMEZONE = "UTC"
SCHEDULES = [
    Schedule("hourly", "5 * * * *", "new events into the warehouse, five past every hour"),
    Schedule("nightly", "30 2 * * *", "imports, quality, full pipeline and publish at 02:30"),
    Schedule("weekly-report", "0 7 * * 1", "the IT-leader report, Mondays at 07:00"),
]

_IO = {"retries": 2, "retry_delay_seconds": 10, "cache_policy": NO_CACHE}
_COMPUTE = {"cache_policy": NO_CACHE}


def _log(outcome: StepOutcome) -> StepOutcome:
    logger = get_run_logger()
    logger.info("%s: %s (%.1f s)", outcome.step, outcome.summary, outcome.seconds)
    for warning in outcome.warnings:
        logger.warning("%s: %s", outcome.step, warning)
    return outcome


@task(name="ingest", **_IO)
def ingest_task(settings: Settings) -> StepOutcome:
    """Load new events into the working warehouse."""
    return _log(steps.ingest(settings))


@task(name="import-drops", **_IO)
def import_drops_task(settings: Settings) -> StepOutcome:
    """Import ticket history and rosters dropped into the watched folder."""
    return _log(steps.import_drops(settings))


@task(name="validate-raw", **_COMPUTE)
def validate_raw_task(settings: Settings, run_id: str) -> StepOutcome:
    """Great Expectations on raw events and imported tickets."""
    return _log(steps.validate_raw(settings, run_id))


@task(name="transform", **_COMPUTE)
def transform_task(settings: Settings) -> StepOutcome:
    """dbt build."""
    return _log(steps.transform(settings))


@task(name="validate-marts", **_COMPUTE)
def validate_marts_task(settings: Settings, run_id: str) -> StepOutcome:
    """Great Expectations on the marts."""
    return _log(steps.validate_marts(settings, run_id))


@task(name="train-and-score", **_COMPUTE)
def train_and_score_task(settings: Settings, run_id: str) -> StepOutcome:
    """Train what changed and score the warehouse."""
    return _log(steps.train_and_score(settings, run_id))


@task(name="publish", **_IO)
def publish_task(settings: Settings) -> StepOutcome:
    """Publish the working warehouse for readers."""
    return _log(steps.publish(settings))


@task(name="report", **_IO)
def report_task(settings: Settings, period: str) -> StepOutcome:
    """Render and deliver the IT-leader report."""
    return _log(steps.report(settings, period))


@flow(name="ingest")
def ingest_flow() -> str:
    """Load new events (no build, nothing published)."""
    settings = get_settings()
    with steps.recorded_run("ingest", settings) as run:
        run.add(ingest_task(settings))
    return run.run_id


@flow(name="import")
def import_flow() -> str:
    """Import whatever was dropped into the watched folder (no build, nothing published)."""
    settings = get_settings()
    with steps.recorded_run("import", settings) as run:
        run.add(import_drops_task(settings))
    return run.run_id


@flow(name="validate")
def validate_flow() -> str:
    """Check the raw data as it stands."""
    settings = get_settings()
    with steps.recorded_run("validate", settings) as run:
        run.add(validate_raw_task(settings, run.run_id))
    return run.run_id


@flow(name="transform")
def transform_flow() -> str:
    """Build, check the marts, and publish."""
    settings = get_settings()
    with steps.recorded_run("transform", settings) as run:
        run.add(transform_task(settings))
        run.add(validate_marts_task(settings, run.run_id))
        run.add(publish_task(settings))
        run.published = True
    return run.run_id


@flow(name="train-and-score")
def train_and_score_flow() -> str:
    """Train and score the models, then publish their scores."""
    settings = get_settings()
    with steps.recorded_run("train-and-score", settings) as run:
        run.add(train_and_score_task(settings, run.run_id))
        run.add(publish_task(settings))
        run.published = True
    return run.run_id


@flow(name="publish")
def publish_flow() -> str:
    """Publish the working warehouse as it stands (after a manual fix, for instance)."""
    settings = get_settings()
    with steps.recorded_run("publish", settings) as run:
        run.add(publish_task(settings))
        run.published = True
    return run.run_id


@flow(name="hourly")
def hourly_flow() -> str:
    """New events → incremental build → marts checked → published."""
    settings = get_settings()
    with steps.recorded_run("hourly", settings) as run:
        run.add(ingest_task(settings))
        run.add(transform_task(settings))
        run.add(validate_marts_task(settings, run.run_id))
        run.add(publish_task(settings))
        run.published = True
    return run.run_id


@flow(name="nightly")
def nightly_flow() -> str:
    """Events and dropped history in → raw checked → built → marts checked → models trained and
    scored → published. A failed critical check stops the run before publishing."""
    settings = get_settings()
    with steps.recorded_run("nightly", settings) as run:
        run.add(ingest_task(settings))
        run.add(import_drops_task(settings))
        run.add(validate_raw_task(settings, run.run_id))
        run.add(transform_task(settings))
        run.add(validate_marts_task(settings, run.run_id))
        run.add(train_and_score_task(settings, run.run_id))
        run.add(publish_task(settings))
        run.published = True
    return run.run_id


@flow(name="report")
def report_flow(period: str = "week") -> str:
    """Render and deliver the IT-leader report from the published warehouse."""
    settings = get_settings()
    with steps.recorded_run("report", settings) as run:
        run.add(report_task(settings, period))
    return run.run_id


@flow(name="weekly-report")
def weekly_report_flow() -> str:
    """The report for last week."""
    return report_flow("week")


FLOWS = {
    "ingest": ingest_flow,
    "import": import_flow,
    "validate": validate_flow,
    "transform": transform_flow,
    "train-and-score": train_and_score_flow,
    "publish": publish_flow,
    "report": report_flow,
    "weekly-report": weekly_report_flow,
    "hourly": hourly_flow,
    "nightly": nightly_flow,
}
