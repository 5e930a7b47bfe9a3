"""Simulation throughput: the demo's 90 days of a 2,000-employee company through the real engine.

`--calibration` prints instead where the simulated service desk's times come from: the UCI
ServiceNow incidents' working hours to resolve by initial priority (incidents opened before
2016-05-01, the training side of the split in ../shared/data/README.md), beside the parameters
in data/simulation/scenario.yml (`service_desk.resolution_working_hours`).

Run: .venv/bin/python -m bench.simulation [--employees 2000] [--days 90] [--calibration]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

import numpy as np
import polars as pl

from catalogue import load_catalogue
from resolver.simulation import load_scenario
from settings import PROJECT_ROOT

UCI_PRIORITIES = {"2 - High": "P2", "3 - Moderate": "P3", "4 - Low": "P4"}


def throughput(employees: int, days: int) -> None:
    """Run `unticket simulate` in a throw-away data dir and print its summary and wall time."""
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "UNTICKET_DATA_DIR": data_dir}
        command = [
            sys.executable,
            "-m",
            "unticket",
            "simulate",
            "--employees",
            str(employees),
            "--days",
            str(days),
            "--seed",
            "7",
            "--start",
            "2026-08-01",
        ]
        began = time.perf_counter()
        subprocess.run(command, cwd=PROJECT_ROOT, env=env, check=True)
        print(
            "whole command, including start-up and model training: "
            f"{time.perf_counter() - began:.1f} s"
        )
        print("the summary line above gives the simulation's own interactions/s (goal >= 1,000)")


def calibration() -> None:
    """Print the UCI incidents' working hours to resolve per priority as the scenario models
    them (a share resolved at first touch, a lognormal for the rest) beside the scenario's."""
    from bench.models_impact import SPLIT, load_tickets, working_hours

    desk = load_scenario(PROJECT_ROOT / "data" / "simulation")[0]["service_desk"]
    quick = desk["first_touch_within_hours"]
    day = load_catalogue(PROJECT_ROOT / "data" / "catalogue").enterprise["working_hours"]
    start, end = (int(h[:2]) + int(h[3:]) / 60 for h in (day["start"], day["end"]))
    _, tickets = load_tickets()
    tickets = tickets.filter(pl.col("resolved_at").is_not_null() & (pl.col("opened_at") < SPLIT))
    tickets = tickets.with_columns(
        pl.Series("hours", working_hours(tickets["opened_at"], tickets["resolved_at"], start, end))
    )
    print(f"UCI incidents opened before {SPLIT:%Y-%m-%d}, working hours {start:g}-{end:g} h")
    print(f"{'priority':<14}{'incidents':>10}{'< quick':>9}{'median':>8}{'sigma':>7}   scenario")
    for uci, ours in UCI_PRIORITIES.items():
        hours = tickets.filter(pl.col("initial_priority") == uci)["hours"].to_numpy()
        logs = np.log(hours[hours >= quick])
        model = desk["resolution_working_hours"][ours]
        print(
            f"{uci:<14}{len(hours):>10,}{np.mean(hours < quick):>9.1%}"
            f"{np.exp(logs.mean()):>8.1f}{logs.std():>7.2f}   {ours}: {model}"
        )


def main() -> None:
    """Measure the simulation's throughput, or print its calibration."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--calibration", action="store_true")
    args = parser.parse_args()
    if args.calibration:
        calibration()
    else:
        throughput(args.employees, args.days)


if __name__ == "__main__":
    main()
