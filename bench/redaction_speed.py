"""How well `redaction.redact` hides secrets, how little it touches, and its cost.

1. Secrets caught: the messages of tests/fixtures/redaction/secrets.yml, by kind; a message
   counts as caught when none of its secret substrings survives `redact`.
2. Ordinary requests altered: the requests of tests/fixtures/redaction/ordinary.txt that
   `redact` changes at all (the goal is at most 1 %).
3. Cost: microseconds per call of `redact` on the ordinary requests (median and p90 over
   `--rounds` passes), the figure the engine pays on every message.

Run from the project root (it reads the tests' corpora): .venv/bin/python -m bench.redaction_speed
[--rounds 200] [--show]
"""

from __future__ import annotations

import argparse
import statistics
import time
from collections import Counter

from redaction import redact
from tests.redaction_corpus import ordinary_requests, secret_messages


def secrets_caught(show: bool) -> None:
    """Print the share of secret messages from which every secret is gone, by kind."""
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    for entry in secret_messages():
        redacted = redact(entry["text"])
        leaked = [secret for secret in entry["secrets"] if secret in redacted]
        total[entry["kind"]] += 1
        caught[entry["kind"]] += not leaked
        if leaked and show:
            print(f"  LEAK {entry['kind']}: {redacted!r} still holds {leaked}")
    print(f"secrets caught: {sum(caught.values())}/{sum(total.values())}")
    for kind in sorted(total):
        print(f"  {kind:<22} {caught[kind]}/{total[kind]}")


def ordinary_altered(show: bool) -> None:
    """Print how many ordinary requests `redact` changes."""
    requests = ordinary_requests()
    altered = [(text, redact(text)) for text in requests if redact(text) != text]
    share = 100 * len(altered) / len(requests)
    print(f"ordinary requests altered: {len(altered)}/{len(requests)} ({share:.1f} %)")
    for text, redacted in altered if show else []:
        print(f"  {text!r}\n  -> {redacted!r}")


def cost(rounds: int) -> None:
    """Print microseconds per `redact` call on ordinary requests."""
    requests = ordinary_requests()
    per_call: list[float] = []
    for _ in range(rounds):
        for text in requests:
            start = time.perf_counter()
            redact(text)
            per_call.append((time.perf_counter() - start) * 1e6)
    per_call.sort()
    print(
        f"redact on ordinary requests: median {statistics.median(per_call):.0f} µs, "
        f"p90 {per_call[int(0.9 * len(per_call))]:.0f} µs per message "
        f"({len(per_call)} calls)"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--rounds", type=int, default=200, help="passes over the ordinary requests to time"
    )
    parser.add_argument(
        "--show", action="store_true", help="print every leak and every altered request"
    )
    arguments = parser.parse_args()
    secrets_caught(arguments.show)
    ordinary_altered(arguments.show)
    cost(arguments.rounds)


if __name__ == "__main__":
    main()
