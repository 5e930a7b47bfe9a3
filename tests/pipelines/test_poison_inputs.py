"""Hostile inputs: drops the pipeline cannot take are set aside with a reason (never followed,
never quoted at length, never retried forever), and a killed run leaves nothing behind: its
record is closed by the next run, and Prefect's temporary server dies with it."""

from __future__ import annotations

import errno
import hashlib
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import duckdb
import pytest

from pipelines import steps
from pipelines.importers.common import ImportFailed
from pipelines.importers.servicenow import import_servicenow
from pipelines.warehouse import connect
from settings import PROJECT_ROOT, Settings

SECRET = "root:$6$s3cr3tHash:19000:0:99999:7:::"
INCIDENTS = "number,opened_at,priority\nINC1,2026-09-01 09:00,3\nINC2,2026-09-02 10:00,2\n"


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    """Settings on a fresh data dir (the drop folder needs no model)."""
    return Settings(data_dir=tmp_path / "data")


@pytest.fixture
def secret_file(tmp_path: Path) -> Path:
    """A file outside the drop folder whose first line must never be echoed."""
    outside = tmp_path / "outside"
    outside.mkdir()
    path = outside / "shadow"
    path.write_text(SECRET + "\nbin:*:19000:0:99999:7:::\n")
    return path


def drops(settings: Settings, kind: str) -> Path:
    folder = steps.drop_folder(settings) / kind
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def reasons(settings: Settings, kind: str) -> dict[str, str]:
    """Each set-aside file (by its name after the time stamp) with the reason written beside it."""
    failed = steps.drop_folder(settings) / "failed" / kind
    return {
        path.name.removesuffix(".error.txt").split("-", 1)[1]: path.read_text().strip()
        for path in failed.glob("*.error.txt")
    }


def tickets(settings: Settings) -> list[str]:
    with duckdb.connect(str(settings.work_warehouse_path), read_only=True) as connection:
        rows = connection.execute("select ticket_id from raw.tickets order by 1").fetchall()
    return [row[0] for row in rows]


def test_unusable_drops_are_set_aside_unread_and_good_ones_imported(
    settings: Settings, secret_file: Path
) -> None:
    folder = drops(settings, "servicenow")
    (folder / "incidents.csv").symlink_to(secret_file)
    (folder / "empty.csv").touch()
    os.mkfifo(folder / "pipe.csv")  # opening it would wait for a writer forever
    (folder / "folder.csv").mkdir()
    (folder / "*.csv").write_text(INCIDENTS)  # a name, not a pattern matching every file
    long_name = "L" * 236 + ".csv.gz"
    (folder / long_name).write_bytes(b"")
    (folder / ("G" * 240 + ".csv")).write_text(INCIDENTS.replace("INC", "GOOD"))
    outcome = steps.import_drops(settings)
    assert tickets(settings) == ["GOOD1", "GOOD2", "INC1", "INC2"]
    digest = hashlib.sha256(long_name.encode()).hexdigest()[:12]
    cut = next(name for name in reasons(settings, "servicenow") if name.startswith("L"))
    assert cut.endswith(f"L~{digest}.csv.gz")  # its start, a hash of it all, its extension
    assert reasons(settings, "servicenow") == {
        "incidents.csv": "symbolic link refused",
        "empty.csv": "empty file",
        "pipe.csv": "not a regular file",
        "folder.csv": "not a regular file",
        cut: "empty file",
    }
    failed = steps.drop_folder(settings) / "failed" / "servicenow"
    link = next(failed.glob("*-incidents.csv"))
    assert link.is_symlink() and secret_file.read_text().startswith(SECRET)  # the link moved
    names = [path.name for path in steps.drop_folder(settings).rglob("*")]
    assert all(len(os.fsencode(name)) <= 255 for name in names)
    assert len(list((steps.drop_folder(settings) / "imported" / "servicenow").iterdir())) == 2
    assert not list(folder.iterdir())
    assert "s3cr3t" not in "".join(outcome.warnings) + outcome.summary
    assert steps.import_drops(settings).summary == "0 file(s): 0 rows loaded"


def test_symbolic_links_are_refused_in_mapping_folders_and_for_mappings(
    settings: Settings, secret_file: Path
) -> None:
    csv = drops(settings, "csv")
    (csv / "jsm").mkdir()
    (csv / "jsm" / "export.csv").write_text("Issue key,Created\nIT-1,2026-09-01 09:00\n")
    (csv / "jsm.yml").symlink_to(secret_file)  # the shipped jsm mapping must not stand in
    (csv / "zendesk").symlink_to(secret_file.parent, target_is_directory=True)
    (csv / "loose.csv").write_text("Issue key,Created\nIT-2,2026-09-01 09:00\n")
    (steps.drop_folder(settings) / "xes").symlink_to(secret_file.parent)
    outcome = steps.import_drops(settings)
    assert reasons(settings, "csv") == {
        "export.csv": "its mapping csv/jsm.yml is a symbolic link: refused",
        "jsm.yml": "symbolic link refused",
        "zendesk": "symbolic link refused",
        "loose.csv": "not in a mapping folder (csv/<mapping>/)",
    }
    assert "drops/xes is a symbolic link: refused, nothing in it was read" in outcome.warnings
    assert not settings.work_warehouse_path.exists()  # nothing was imported
    assert (steps.drop_folder(settings) / "xes").is_symlink()
    assert "s3cr3t" not in "".join(outcome.warnings)


def test_a_drop_that_cannot_be_moved_is_skipped_until_it_changes(settings: Settings) -> None:
    folder = drops(settings, "roster")
    (folder / "roster.csv").write_text("not a roster\n")
    (steps.drop_folder(settings) / "failed").write_text("a file where a folder should be")
    first = steps.import_drops(settings)
    assert first.summary == "1 file(s): 0 rows loaded"
    assert "it could not be moved to failed/" in first.warnings[0]
    assert (folder / "roster.csv").exists()
    second = steps.import_drops(settings)
    assert second.summary == "0 file(s): 0 rows loaded; 1 unmovable file(s) skipped"
    assert second.warnings == []
    (folder / "roster.csv").write_text("still not a roster\n")  # changed: a new drop
    assert steps.import_drops(settings).summary.startswith("1 file(s)")


def test_an_unreadable_drop_is_set_aside_unread(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    folder = drops(settings, "servicenow")
    (folder / "locked.csv").write_text(INCIDENTS)
    real_open = os.open

    def denied(path: object, flags: int, *rest: int) -> int:
        if str(path).endswith("locked.csv"):  # root reads anything: deny it as for a user
            raise PermissionError(errno.EACCES, "Permission denied", str(path))
        return real_open(path, flags, *rest)  # type: ignore[arg-type]

    monkeypatch.setattr(os, "open", denied)
    steps.import_drops(settings)
    assert reasons(settings, "servicenow") == {"locked.csv": "cannot be read: Permission denied"}


def test_import_errors_quote_a_short_escaped_excerpt_at_most(tmp_path: Path) -> None:
    path = tmp_path / "export.csv"
    header = "\x1b[2J" + "k" * 500 + "," + SECRET.replace(":", "_")
    path.write_text(header + "\n1,2\n")
    with pytest.raises(ImportFailed) as failure:
        import_servicenow(path, connect(tmp_path / "w.duckdb"))
    message = str(failure.value)
    found = message.split("Found: ", 1)[1]
    assert len(found) <= 100 and "\x1b" not in message and "\\x1b" in found
    assert "s3cr3t" not in message


RUNNING = """
import sys
from pathlib import Path
from pipelines.steps import recorded_run
from settings import Settings
with recorded_run("nightly", Settings(data_dir=Path(sys.argv[1]))):
    print("running", flush=True)
    sys.stdin.readline()  # until killed
"""


def test_a_killed_run_is_recorded_as_interrupted_by_the_next_one(settings: Settings) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", RUNNING, str(settings.data_dir)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
        cwd=PROJECT_ROOT,
    )
    assert child.stdout is not None and child.stdout.readline().strip() == "running"
    child.kill()
    child.wait()
    with duckdb.connect(str(settings.work_warehouse_path), read_only=True) as connection:
        left = connection.execute("select status from ops.pipeline_runs").fetchall()
    assert left == [("running",)]  # what a SIGKILL leaves
    with steps.recorded_run("ingest", settings):
        pass
    with duckdb.connect(str(settings.ops_path), read_only=True) as connection:
        runs = connection.execute(
            "select flow, status, error, finished_at from pipeline_runs order by started_at"
        ).fetchall()
    assert runs[0] == ("nightly", "failed", "interrupted", None)
    assert runs[1][:3] == ("ingest", "succeeded", None)


KILLED_MID_FLOW = """
import sys
from prefect import flow
from prefect.server.api.server import SubprocessASGIServer
from pipelines import flows
from pipelines.orchestration import run_flow

@flow(name="waits")
def waits() -> str:
    print(SubprocessASGIServer().server_process.pid, flush=True)  # the temporary server
    sys.stdin.readline()  # until killed
    return "never"

flows.FLOWS["waits"] = waits
run_flow("waits")
"""


def _gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except FileNotFoundError:
        return True
    return state == "Z"


@pytest.fixture(scope="module")
def prefect_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One Prefect home for the module: the server's first start in a new one is the slowest."""
    return tmp_path_factory.mktemp("prefect")


@pytest.mark.parametrize("kill", [signal.SIGKILL, signal.SIGTERM], ids=["SIGKILL", "SIGTERM"])
def test_the_temporary_prefect_server_dies_with_a_killed_run(
    prefect_home: Path, kill: signal.Signals, tmp_path: Path
) -> None:
    environment = {
        **{name: value for name, value in os.environ.items() if not name.startswith("PREFECT_")},
        "PREFECT_HOME": str(prefect_home),
        "PREFECT_SERVER_EPHEMERAL_STARTUP_TIMEOUT_SECONDS": "90",
        "PREFECT_SERVER_ANALYTICS_ENABLED": "false",
        "PREFECT_LOGGING_LEVEL": "WARNING",
    }
    log = tmp_path / "run.log"
    with log.open("w") as stderr:
        child = subprocess.Popen(
            [sys.executable, "-c", KILLED_MID_FLOW],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=stderr,
            text=True,
            cwd=PROJECT_ROOT,
            env=environment,
        )
    assert child.stdout is not None
    server = int(child.stdout.readline())
    try:
        assert not _gone(server)
        child.send_signal(kill)
        # on SIGTERM Prefect reports the crash to the server first, with retries on a busy machine
        try:
            child.wait(timeout=120)
        except subprocess.TimeoutExpired:
            child.kill()
            pytest.fail(f"the killed run did not end; it printed:\n{log.read_text()}")
        deadline = time.monotonic() + 15
        while not _gone(server) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert _gone(server), "the temporary Prefect server outlived its run"
    finally:
        if not _gone(server):
            os.kill(server, signal.SIGKILL)
