"""A watchdog for a child process that must not outlive this one.

Prefect's temporary server and `pipeline serve`'s local server are child processes; a process
killed outright (SIGKILL, or SIGTERM, which skips exit handlers) never stops them itself.
"""

from __future__ import annotations

import subprocess
import sys

_WATCHDOG = """
import os, signal, sys
if sys.stdin.buffer.read() != b"release":  # the pipe ended without it: the parent has ended
    try:
        os.kill(int(sys.argv[1]), signal.SIGKILL)
    except ProcessLookupError:
        pass
"""


class Watchdog:
    """Kills a process if this one ends without releasing it first, however it ends (even by
    SIGKILL): a small child process waits on a pipe that only this process holds open, and the
    kernel closes it when this process ends. The watched process must be a child of this one
    (its id stays its own until this process has waited for it)."""

    def __init__(self, pid: int) -> None:
        self._child = subprocess.Popen(
            [sys.executable, "-I", "-c", _WATCHDOG, str(pid)],
            stdin=subprocess.PIPE,
            start_new_session=True,  # a Ctrl+C meant for this process does not stop it
        )

    def release(self) -> None:
        """Leave the watched process alone (this process stops it itself); the watchdog ends."""
        self._child.communicate(b"release", timeout=30)
