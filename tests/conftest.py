"""Shared fixtures: a small embedded enterprise in a fresh data dir per test.

The intent model is trained once per session and copied into each data dir, so a test pays
for its own enterprise (milliseconds) but not for training.
"""

from __future__ import annotations

import re
import shutil
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import TracebackType

import duckdb
import pytest

from catalogue import cached_catalogue
from resolver.connectors.base import Person
from resolver.connectors.embedded import EmbeddedDirectory, EnterpriseStore
from resolver.engine import InboundMessage
from resolver.enterprise import generate_enterprise
from resolver.events import read_events
from resolver.identity import CLI, Credential
from resolver.runtime import Runtime, build_runtime
from resolver.turn import Reply
from settings import PROJECT_ROOT, Settings

SHARED_DATA = PROJECT_ROOT.parent / "shared" / "data"
EMPLOYEES = 120
NOW = datetime(2026, 11, 2, 9, 30, tzinfo=UTC)  # a Monday morning


class OtherProcess:
    """A Python script run in a process of its own (for locks and open files, which behave
    differently within one process), driven line by line: it answers on stdout and stops when
    its stdin closes, at the end of the `with` block."""

    def __init__(self, script: str, *arguments: str) -> None:
        self.child = subprocess.Popen(
            [sys.executable, "-c", script, *arguments],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            text=True,
        )

    def readline(self) -> str:
        """The script's next line, without its newline."""
        assert self.child.stdout is not None
        return self.child.stdout.readline().rstrip("\n")

    def ask(self, line: str) -> str:
        """Send the script a line and return its answer."""
        assert self.child.stdin is not None
        self.child.stdin.write(line + "\n")
        self.child.stdin.flush()
        return self.readline()

    def __enter__(self) -> OtherProcess:
        return self

    def __exit__(
        self, kind: type | None, error: BaseException | None, _: TracebackType | None
    ) -> None:
        assert self.child.stdin is not None
        self.child.stdin.close()
        code = self.child.wait(timeout=30)
        assert error is not None or code == 0, f"the other process exited with {code}"


@pytest.fixture
def directory(tmp_path: Path) -> Iterator[EmbeddedDirectory]:
    """A directory of a small generated enterprise of 30 people (no trained model needed),
    for connector tests."""
    store = EnterpriseStore(tmp_path / "enterprise.sqlite")
    generate_enterprise(store, cached_catalogue(Settings().catalogue_dir).enterprise, 30, 11)
    yield EmbeddedDirectory(store)
    store.close()


@pytest.fixture
def person(directory: EmbeddedDirectory) -> Person:
    """An ordinary employee."""
    row = directory.store.query_one("select employee_id from people order by employee_id limit 1")
    found = directory.get_person(row["employee_id"])
    assert found is not None
    return found


@pytest.fixture(scope="session")
def trained_models(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A models folder holding the trained intent model."""
    data_dir = tmp_path_factory.mktemp("models-cache")
    runtime = build_runtime(Settings(data_dir=data_dir, events_fsync="never"))
    runtime.close()
    return data_dir / "models"


def copy_data_dir(source: Path, target: Path) -> None:
    """Copy a data dir without its enterprise store, which a test in this process may hold open
    (Ask IT): SQLite locks with POSIX advisory locks, and closing ANY descriptor of a file drops
    every lock this process holds on it, so merely reading the live file to copy it lets
    another connection write under the store's feet ("database disk image is malformed")."""
    shutil.copytree(source, target, ignore=shutil.ignore_patterns("enterprise.sqlite*"))


def make_settings(data_dir: Path, trained_models: Path, **overrides: object) -> Settings:
    """Settings for a data dir that reuses the session's trained model."""
    shutil.copytree(trained_models, data_dir / "models", dirs_exist_ok=True)
    return Settings(data_dir=data_dir, **overrides)


def make_runtime(settings: Settings, employees: int = EMPLOYEES) -> Runtime:
    """An engine on a freshly generated enterprise of `employees` people."""
    store = EnterpriseStore(settings.state_db)
    if store.is_empty():
        generate_enterprise(
            store, cached_catalogue(settings.catalogue_dir).enterprise, employees, 11
        )
    store.close()
    return build_runtime(settings)


@pytest.fixture
def settings(tmp_path: Path, trained_models: Path) -> Settings:
    """Settings on a fresh data dir."""
    return make_settings(tmp_path / "data", trained_models)


@pytest.fixture
def runtime(settings: Settings) -> Iterator[Runtime]:
    """A running engine on a small enterprise."""
    built = make_runtime(settings)
    yield built
    built.close()


class Chat:
    """Talk to the engine as one employee, on a fixed clock that moves forward."""

    def __init__(
        self, runtime: Runtime, user: str, channel: str = "api", credential: Credential = CLI
    ) -> None:
        self.runtime = runtime
        self.user = user
        self.channel = channel
        self.credential = credential
        self.now = NOW

    def say(self, text: str, after_seconds: int = 20) -> Reply:
        """Send a message and return the reply."""
        from datetime import timedelta

        self.now += timedelta(seconds=after_seconds)
        message = InboundMessage(self.user, text, self.channel, credential=self.credential)
        return self.runtime.engine.handle(message, self.now)

    def latest_code(self) -> str:
        """The last one-time code delivered to this employee's phone."""
        person = self.runtime.connectors.directory.find_person(self.user)
        assert person is not None
        messages = self.runtime.connectors.notifier.messages_for(person.employee_id)
        match = re.search(r"\b(\d{6})\b", messages[-1]["body"])
        assert match, messages[-1]
        return match[1]


@pytest.fixture
def employee(runtime: Runtime) -> str:
    """An ordinary employee with a manager (not the CEO, not a department head)."""
    row = runtime.store.query_one(
        "select employee_id from people where level <= 3 order by employee_id limit 1"
    )
    assert row is not None
    return row["employee_id"]


def api_key(settings: Settings, *scopes: str, name: str = "integration") -> str:
    """A new API key with `scopes` in the data dir's key store."""
    from resolver.apikeys import ApiKeys

    keys = ApiKeys(settings.api_keys_db)
    try:
        return keys.create(name, list(scopes), datetime.now(UTC))
    finally:
        keys.close()


def bearer(token: str) -> dict[str, str]:
    """The `Authorization` header carrying a token or API key."""
    return {"Authorization": f"Bearer {token}"}


def events_of(settings: Settings, interaction_id: str | None = None) -> list[dict]:
    """Every logged event, or those of one interaction."""
    return [
        e
        for e in read_events(settings.events_dir)
        if interaction_id is None or e["interaction_id"] == interaction_id
    ]


def work_warehouse_rows(settings: Settings, sql: str) -> list[tuple]:
    """The rows of a query on the working warehouse (what the last build wrote)."""
    with duckdb.connect(str(settings.work_warehouse_path), read_only=True) as warehouse:
        return warehouse.execute(sql).fetchall()


def build_published_warehouse(settings: Settings, **simulation: object) -> None:
    """Simulate, ingest into the working warehouse, build it, and publish it for readers."""
    from pipelines.ingest import ingest_events
    from pipelines.publish import publish_warehouse
    from pipelines.transform import build_warehouse
    from pipelines.warehouse import connect
    from resolver.simulation import run_simulation

    run_simulation(settings, **simulation)
    connection = connect(settings.work_warehouse_path)
    ingest_events(settings.events_dir, connection)
    connection.close()
    result = build_warehouse(settings)
    assert result.success, result.failures
    publish_warehouse(settings.work_warehouse_path, settings.warehouse_path)


def build_scored_warehouse(settings: Settings, history: Path, mapping: Path, run_id: str) -> None:
    """A two-week simulation of 120 employees and an imported ticket history, ingested, built
    and then trained and scored by the pipeline's own train-and-score step (as run `run_id`)."""
    from datetime import date

    from models.pipeline import train_and_score
    from pipelines.importers.csv_mapping import import_csv
    from pipelines.ingest import ingest_events
    from pipelines.transform import build_warehouse
    from pipelines.warehouse import connect
    from resolver.simulation import run_simulation

    run_simulation(settings, employees=120, days=14, seed=5, start=date(2026, 9, 7))
    connection = connect(settings.work_warehouse_path)
    ingest_events(settings.events_dir, connection)
    import_csv(history, mapping, connection)
    connection.close()
    assert build_warehouse(settings).success
    connection = connect(settings.work_warehouse_path)
    try:
        train_and_score(settings, connection, run_id)
    finally:
        connection.close()
