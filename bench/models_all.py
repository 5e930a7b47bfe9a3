"""Every figure of the models, on real data: runs the models' benchmarks one after another.

- `bench/models_categorizer.py`: the categoriser on the Kaggle IT-ticket set's hold-out
  (accuracy, macro-F1, training time, tickets/s);
- `bench/models_impact.py`: the impact model's MAE against the category median, the automation
  ranking's Spearman correlation and the Pareto share on the UCI ServiceNow log;
- `bench/models_ticket_categories.py`: the pipeline's categoriser of imported tickets;
- `bench/models_topics.py`: topic discovery and spike detection on a simulated company.

Each runs in a process of its own, so one's memory and threads do not colour the next. (Not
`bench/models.py`: beside the other scripts that name would hide the `models` package.)

Run: .venv/bin/python -m bench.models_all [--only impact ...]
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import time

from settings import PROJECT_ROOT

BENCHES = ("categorizer", "impact", "priorities", "ticket_categories", "topics")


def run(name: str) -> bool:
    """Run one benchmark, its output going straight to ours; return whether it succeeded."""
    module = f"bench.models_{name}"
    print(f"\n=== {module} ===", flush=True)
    began = time.perf_counter()
    code = subprocess.call([sys.executable, "-m", module], cwd=PROJECT_ROOT)
    print(
        f"=== {name}: {'done' if code == 0 else f'failed ({code})'} in "
        f"{time.perf_counter() - began:.0f} s ===",
        flush=True,
    )
    return code == 0


def main() -> int:
    """Run the chosen benchmarks (all by default)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=BENCHES, default=list(BENCHES))
    results = [run(name) for name in parser.parse_args().only]
    return 0 if all(results) else 1


if __name__ == "__main__":
    raise SystemExit(main())
