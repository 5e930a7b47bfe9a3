"""Prefect's temporary API server, bound to the process that runs the flows.

With no `PREFECT_API_URL`, Prefect runs flows against a temporary server that it starts as a
child process (one per process, `SubprocessASGIServer`) and stops when the process exits. A
process killed outright (SIGKILL, or SIGTERM, which skips exit handlers) never stops it, and the
server lived on, orphaned. `bind_temporary_server` has Prefect start a `BoundServer` instead:
the same server, watched by a `Watchdog` that kills it when this process ends.
"""

from __future__ import annotations

import subprocess
from typing import Any

from prefect.server.api.server import SubprocessASGIServer
from prefect.settings import PREFECT_API_URL

from pipelines.watchdog import Watchdog


class BoundServer(SubprocessASGIServer):
    """Prefect's temporary server, which dies with the process that started it."""

    _watchdog: Watchdog | None = None

    def _run_uvicorn_command(self) -> subprocess.Popen[Any]:
        """Start the server process, watched from the moment it exists."""
        self._release_watchdog()  # Prefect starts it again on another port if one was taken
        process = super()._run_uvicorn_command()
        self._watchdog = Watchdog(process.pid)
        return process

    def stop(self) -> None:
        """Stop the server (Prefect does at exit)."""
        self._release_watchdog()
        super().stop()

    def _release_watchdog(self) -> None:
        if self._watchdog is not None:
            self._watchdog.release()
            self._watchdog = None


def bind_temporary_server() -> None:
    """Unless a Prefect server is configured, make the temporary server Prefect starts for this
    process's flows a `BoundServer`: Prefect keeps one per process, created on first use, and
    this creates it first (when Prefect has not already)."""
    if PREFECT_API_URL.value() is None:
        BoundServer()
