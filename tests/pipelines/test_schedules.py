"""Schedules: every entry is valid, `prefect.yaml` agrees with them, and a schedule really fires.

The last test starts a real Prefect server (schedules never fire in ephemeral mode), serves one
real flow on an every-minute cron from a separate process, the way `unticket pipeline serve`
does, and waits for the run to be recorded in `ops.duckdb` and completed in Prefect.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import duckdb
import httpx
import pytest
import yaml
from prefect.client.schemas.schedules import CronSchedule

from pipelines import flows
from pipelines.flows import FLOWS, SCHEDULES, TIMEZONE
from pipelines.orchestration import local_server
from resolver.events import EventLog, new_event
from resolver.runtime import create_enterprise
from settings import PROJECT_ROOT, Settings

FIRES_WITHIN_SECONDS = 150  # the next minute boundary, plus start-up and the run itself
EVENTS = 40


def test_every_schedule_names_a_flow_and_has_a_valid_cron() -> None:
    assert SCHEDULES
    assert len({s.flow for s in SCHEDULES}) == len(SCHEDULES), "one schedule per flow"
    for schedule in SCHEDULES:
        assert schedule.flow in FLOWS, schedule
        assert len(schedule.cron.split()) == 5, f"{schedule.cron!r}: five fields, like crontab"
        parsed = CronSchedule(cron=schedule.cron, timezone=TIMEZONE)  # raises if invalid
        assert parsed.timezone == "UTC"
        assert schedule.description


def test_an_invalid_cron_is_rejected() -> None:
    with pytest.raises(ValueError, match="Invalid cron"):
        CronSchedule(cron="61 * * * *", timezone=TIMEZONE)


def test_prefect_yaml_deploys_every_flow_with_the_same_schedules() -> None:
    config = yaml.safe_load((PROJECT_ROOT / "prefect.yaml").read_text())
    steps = config["pull"]
    assert list(steps[0]) == ["prefect.deployments.steps.set_working_directory"]
    deployed: dict[str, list[tuple[str, str]]] = {}
    for deployment in config["deployments"]:
        path, function = deployment["entrypoint"].split(":")
        assert path == "pipelines/flows.py"
        flow = getattr(flows, function)
        assert FLOWS[flow.name] is flow
        assert deployment["work_pool"]["name"] == "unticket-pool"
        crons = [(s["cron"], s["timezone"]) for s in deployment.get("schedules") or []]
        assert all(s.get("active", True) for s in deployment.get("schedules") or [])
        deployed[flow.name] = crons
    assert set(deployed) == set(FLOWS)
    scheduled = {name: crons for name, crons in deployed.items() if crons}
    assert scheduled == {s.flow: [(s.cron, TIMEZONE)] for s in SCHEDULES}


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _data_dir_with_enterprise_and_events(data_dir: Path) -> Settings:
    """A data dir as `unticket enterprise init` leaves it, plus a few events to ingest."""
    settings = Settings(data_dir=data_dir, events_fsync="never")
    create_enterprise(settings, employees=40, seed=11)
    log = EventLog(settings.events_dir, fsync=False)
    start = datetime.now(UTC) - timedelta(hours=2)
    log.append(
        [
            new_event(
                "message_received",
                event_id=f"ev{n:05d}",
                occurred_at=start + timedelta(seconds=n),
                interaction_id=f"i{n // 2}",
                employee_id="E000010",
                channel="api",
                text="my vpn keeps dropping",
                turn=1 + n % 2,
            )
            for n in range(EVENTS)
        ]
    )
    log.close()
    return settings


@pytest.fixture
def prefect_server(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[str]:
    """A real `prefect server start` on a free port, its database in tmp; yields its API URL."""
    monkeypatch.setenv("PREFECT_HOME", str(tmp_path / "prefect-server"))
    monkeypatch.setenv("PREFECT_SERVER_ANALYTICS_ENABLED", "false")
    monkeypatch.setenv("PREFECT_UI_ENABLED", "false")
    monkeypatch.setenv("DO_NOT_TRACK", "1")
    with local_server(_free_port()) as api_url:
        yield api_url


def _stop(process: subprocess.Popen[bytes]) -> None:
    """Stop the serving process and the flow-run processes it started (its process group)."""
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(process.pid, signal.SIGKILL)  # any flow run still in that group


def _finished_runs(ops_path: Path, flow: str) -> list[tuple]:
    if not ops_path.exists():
        return []
    with duckdb.connect(str(ops_path), read_only=True) as connection:
        return connection.execute(
            "select run_id, status, rows_out, finished_at from pipeline_runs "
            "where flow = ? and finished_at is not null",
            [flow],
        ).fetchall()


def _completed_flow_runs(api_url: str, deployment_id: str) -> list[dict]:
    response = httpx.post(
        f"{api_url}/flow_runs/filter",
        json={"flow_runs": {"deployment_id": {"any_": [deployment_id]}}},
        timeout=10,
    )
    response.raise_for_status()
    return [run for run in response.json() if run["state_type"] == "COMPLETED"]


def test_a_served_schedule_fires_and_its_run_is_recorded(
    tmp_path: Path, prefect_server: str
) -> None:
    settings = _data_dir_with_enterprise_and_events(tmp_path / "data")
    log_path = tmp_path / "serve.log"
    env = {
        **os.environ,
        "PREFECT_API_URL": prefect_server,
        "PREFECT_HOME": str(tmp_path / "prefect-client"),
        "PREFECT_RUNNER_POLL_FREQUENCY": "1",
        "UNTICKET_DATA_DIR": str(settings.data_dir),
    }
    serve = (
        "from pipelines.flows import Schedule\n"
        "from pipelines.orchestration import configure_prefect, serve_schedules\n"
        "from settings import get_settings\n"
        "configure_prefect(get_settings())\n"
        "serve_schedules([Schedule('ingest', '* * * * *', 'every minute')])\n"
    )
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, "-c", serve],
            cwd=PROJECT_ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its own process group, so its flow runs stop with it
        )
    try:
        deadline = time.monotonic() + FIRES_WITHIN_SECONDS
        recorded: list[tuple] = []
        completed: list[dict] = []
        deployment_id = None
        while time.monotonic() < deadline and not (recorded and completed):
            assert process.poll() is None, log_path.read_text()[-4000:]
            time.sleep(1)
            if deployment_id is None:
                found = httpx.get(f"{prefect_server}/deployments/name/ingest/ingest-schedule")
                deployment_id = found.json()["id"] if found.status_code == 200 else None
                continue
            recorded = _finished_runs(settings.ops_path, "ingest")
            completed = _completed_flow_runs(prefect_server, deployment_id)
        tail = log_path.read_text()[-4000:]
        assert deployment_id, f"the deployment was never created:\n{tail}"
        assert recorded, f"no finished ingest run in ops.duckdb:\n{tail}"
        assert completed, f"no COMPLETED flow run of the deployment:\n{tail}"
        assert recorded[0][1:3] == ("succeeded", EVENTS)
        assert completed[0]["auto_scheduled"], "created by the scheduler, not by hand"
        expected_at = datetime.fromisoformat(completed[0]["expected_start_time"])
        assert (expected_at.second, expected_at.microsecond) == (0, 0), "on the minute"
    finally:
        _stop(process)
