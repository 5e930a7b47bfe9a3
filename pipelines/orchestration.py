"""Running the flows: once, or on their schedules with a Prefect server.

With no Prefect server configured (`PREFECT_API_URL` unset) a single run uses Prefect's
ephemeral mode; schedules need a real server, so `serve` starts a local one for as long as it
runs. In production, point `PREFECT_API_URL` at your server and use `prefect.yaml` with a work
pool and a worker instead (README: "Pipelines").

Either server is a child process that a `Watchdog` kills if this process ends without stopping
it (killed by SIGKILL or SIGTERM, which skip every clean-up), so no server outlives its run.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

import httpx

from pipelines.watchdog import Watchdog
from settings import Settings

if TYPE_CHECKING:
    from pipelines.flows import Schedule

LOCAL_SERVER_PORT = 4200
SERVER_START_TIMEOUT_SECONDS = 90


def configure_prefect(settings: Settings) -> None:
    """Prefect settings that work offline on a small machine, unless already set: its home in
    the data dir, a patient ephemeral start-up, no analytics."""
    defaults = {
        "PREFECT_HOME": str(settings.data_dir / "prefect"),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
        "DO_NOT_TRACK": "1",
    }
    for name, value in defaults.items():
        os.environ.setdefault(name, value)
    os.makedirs(os.environ["PREFECT_HOME"], exist_ok=True)


def run_flow(name: str, **parameters: object) -> str:
    """Run one flow to completion in this process; return its pipeline run id. Without a
    Prefect server configured, Prefect's temporary server for it dies with this process."""
    from pipelines.flows import FLOWS
    from pipelines.prefect_server import bind_temporary_server

    bind_temporary_server()
    return FLOWS[name](**parameters)


def _healthy(api_url: str) -> bool:
    try:
        return httpx.get(f"{api_url}/health", timeout=2).status_code == 200
    except httpx.HTTPError:
        return False


@contextmanager
def local_server(port: int = LOCAL_SERVER_PORT) -> Iterator[str]:
    """Start `prefect server start` on localhost for the life of the block; yield its API URL."""
    api_url = f"http://127.0.0.1:{port}/api"
    command = [sys.executable, "-m", "prefect", "server", "start", "--host", "127.0.0.1"]
    # its own session: Ctrl+C stops the runner first, which then stops the server cleanly
    server = subprocess.Popen(
        [*command, "--port", str(port)], stdout=subprocess.DEVNULL, start_new_session=True
    )
    watchdog = Watchdog(server.pid)
    try:
        deadline = time.monotonic() + SERVER_START_TIMEOUT_SECONDS
        while not _healthy(api_url):
            if server.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"the local Prefect server did not start on port {port}; is the port free?"
                )
            time.sleep(0.5)
        yield api_url
    finally:
        watchdog.release()
        server.terminate()
        server.wait(timeout=30)


def serve_schedules(schedules: Sequence[Schedule] | None = None) -> None:
    """Serve the scheduled flows until interrupted (needs PREFECT_API_URL): those in
    `schedules`, which defaults to `SCHEDULES`, each as the deployment `<flow>-schedule`."""
    from prefect import serve
    from prefect.schedules import Cron

    from pipelines.flows import FLOWS, SCHEDULES, TIMEZONE

    deployments = [
        FLOWS[schedule.flow].to_deployment(
            name=f"{schedule.flow}-schedule",
            schedule=Cron(schedule.cron, timezone=TIMEZONE),
            description=schedule.description,
        )
        for schedule in (SCHEDULES if schedules is None else schedules)
    ]
    serve(*deployments)
