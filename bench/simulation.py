"""Simulation throughput: the demo's 90 days of a 2,000-employee company through the real engine.

Run: .venv/bin/python bench/simulation.py [--employees 2000] [--days 90]
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time

from settings import PROJECT_ROOT


def main() -> None:
    """Run `unticket simulate` in a throw-away data dir and print its summary and wall time."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--employees", type=int, default=2000)
    parser.add_argument("--days", type=int, default=90)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "UNTICKET_DATA_DIR": data_dir}
        command = [
            sys.executable,
            "-m",
            "unticket",
            "simulate",
            "--employees",
            str(args.employees),
            "--days",
            str(args.days),
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


if __name__ == "__main__":
    main()
