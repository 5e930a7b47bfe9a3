"""Starting a data dir over (`unticket simulate --replace`): never under a running pipeline."""

from __future__ import annotations

import threading
import time

from pipelines.data_dir import clear_generated
from pipelines.steps import lock_path, pipeline_lock
from settings import Settings


def test_starting_over_waits_for_a_running_pipeline_and_keeps_its_lock(
    settings: Settings,
) -> None:
    work = settings.work_warehouse_path.parent
    work.mkdir(parents=True)
    (work / "warehouse.duckdb").write_text("a working copy")
    (work / "dbt-target").mkdir()
    settings.events_dir.mkdir(parents=True)
    (settings.events_dir / "events.jsonl").write_text("{}\n")
    running, cleared = threading.Event(), threading.Event()
    cleared_while_running: list[bool] = []

    def pipeline() -> None:
        with pipeline_lock(settings):
            running.set()
            time.sleep(1)
            cleared_while_running.append(cleared.is_set())

    run = threading.Thread(target=pipeline)
    run.start()
    running.wait(10)
    clear_generated(settings)
    cleared.set()
    run.join()
    assert cleared_while_running == [False]
    assert [path.name for path in work.iterdir()] == [lock_path(settings).name]
    assert not settings.events_dir.exists()
