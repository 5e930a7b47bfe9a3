"""In-process engine throughput and decision latency, with durable (fsynced) event logging.

Plays conversations of a realistic mix (the simulator's needs and phrasings, each employee in
the language the simulator gives them from their office's shares in `scenario.yml`, one-time
codes, feedback) through `Engine.handle` on a 2,000-employee embedded enterprise. Every reply
waits until its events are fsynced; with several concurrent callers (as behind the HTTP
server's thread pool) one fsync covers several turns (group commit). Prints messages/s and
latency percentiles for one caller and for several.

Run: .venv/bin/python bench/engine.py [--messages 20000] [--threads 4]
"""

from __future__ import annotations

import argparse
import random
import re
import statistics
import tempfile
import threading
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

from resolver.engine import InboundMessage
from resolver.identity import SLACK
from resolver.runtime import Runtime, build_runtime
from resolver.simulation import Phrasings, employee_language, load_scenario
from settings import PROJECT_ROOT, Settings

CODE = re.compile(r"\b(\d{6})\b")
SLOTS = {
    "group": "All Engineering",
    "application": "Zoom",
    "device": "laptop",
    "ticket": "INC0000001",
}


def percentile(values: list[float], share: float) -> float:
    """The value below which `share` of the values fall."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(share * len(ordered)))]


def employee_languages(runtime: Runtime, scenario: dict) -> dict[str, str]:
    """Each employee's language, drawn as the simulator draws it (seed 1)."""
    rows = runtime.store.query("select employee_id, location from people")
    shares = scenario["languages"]
    return {
        row["employee_id"]: employee_language(1, row["employee_id"], shares[row["location"]])
        for row in rows
    }


def converse(
    runtime: Runtime,
    needs: list[str],
    phrasings: dict[str, Phrasings],
    languages: dict[str, str],
    employees: range,
    count: int,
    seed: int,
) -> list[float]:
    """Hold conversations until `count` messages were answered; return each turn's latency."""
    rng = random.Random(seed)
    engine, notifier = runtime.engine, runtime.connectors.notifier
    now = datetime(2026, 11, 2, 9, tzinfo=UTC)
    latencies: list[float] = []
    while len(latencies) < count:
        user = f"E{rng.choice(employees):06d}"
        written = phrasings[languages[user]]
        text = rng.choice(written[rng.choice(needs)]).format(**SLOTS)
        for _ in range(3):
            now += timedelta(seconds=7)
            start = time.perf_counter()
            reply = engine.handle(InboundMessage(user, text, "slack", credential=SLACK), now)
            latencies.append(time.perf_counter() - start)
            if reply.state == "verify":
                text = CODE.search(notifier.messages_for(user)[-1]["body"])[1]
            elif reply.state == "feedback":
                text = rng.choice(written["yes"])
            else:
                break
    return latencies


def run(scenario: dict, phrasings: dict[str, Phrasings], messages: int, threads: int) -> None:
    """Measure with `threads` concurrent callers, each with its own employees."""
    needs = list(scenario["intent_mix"])  # each as often as the others
    with tempfile.TemporaryDirectory() as data_dir:
        runtime = build_runtime(Settings(data_dir=Path(data_dir), events_fsync="always"))
        languages = employee_languages(runtime, scenario)
        results: list[list[float]] = [[] for _ in range(threads)]
        share = 1970 // threads

        def worker(n: int) -> None:
            employees = range(30 + n * share, 30 + (n + 1) * share)
            results[n] = converse(
                runtime, needs, phrasings, languages, employees, messages // threads, n
            )

        workers = [threading.Thread(target=worker, args=(n,)) for n in range(threads)]
        began = time.perf_counter()
        for thread in workers:
            thread.start()
        for thread in workers:
            thread.join()
        elapsed = time.perf_counter() - began
        runtime.close()
    ms = [v * 1000 for r in results for v in r]
    print(f"{threads} caller(s), fsync before every reply: {len(ms):,} messages in {elapsed:.2f} s")
    print(
        f"  throughput {len(ms) / elapsed:,.0f} messages/s (goal >= 1,500), counting the "
        "benchmark's own work between calls"
    )
    if threads == 1:
        print(f"  engine time only: {len(ms) / (sum(ms) / 1000):,.0f} messages/s")
    print(
        f"  latency p50 {statistics.median(ms):.2f} ms, p95 {percentile(ms, 0.95):.2f} ms, "
        f"p99 {percentile(ms, 0.99):.2f} ms (goal p99 <= 10 ms), max {max(ms):.2f} ms"
    )


def main() -> None:
    """Run the benchmark with one caller, then several."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--messages", type=int, default=20000)
    parser.add_argument("--threads", type=int, default=4)
    args = parser.parse_args()
    scenario, phrasings = load_scenario(PROJECT_ROOT / "data" / "simulation")
    run(scenario, phrasings, args.messages, 1)
    run(scenario, phrasings, args.messages, args.threads)


if __name__ == "__main__":
    main()
