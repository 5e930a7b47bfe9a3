"""HTTP API throughput and latency on loopback.

Starts `unticket serve` (one process, the default) on a free port over a fresh 2,000-employee
enterprise, then a separate load process sends POST /v1/messages from several keep-alive
connections for a fixed number of requests. Prints requests/s and latency percentiles.

Run: .venv/bin/python bench/http_api.py [--requests 6000] [--connections 8]
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import random
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

from unticket.settings import PROJECT_ROOT

TEXTS = [
    "my vpn keeps dropping",
    "how do I share my calendar",
    "printer on floor 3 is jammed",
    "outlook is not syncing",
    "wifi keeps disconnecting in the office",
    "what's the status of my ticket",
    "hello",
    "thanks!",
    "I need Zoom installed",
    "my laptop screen flickers",
]


def free_port() -> int:
    """An unused loopback port."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_healthy(port: int, timeout: float = 90) -> None:
    """Wait for the server's health check."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/v1/health")
            if connection.getresponse().status == 200:
                return
        except OSError:
            time.sleep(0.3)
    raise TimeoutError("server did not start")


def load(port: int, requests: int, connections: int) -> None:
    """Send the requests from `connections` threads; print the figures."""
    latencies: list[float] = []
    errors = [0]
    per_connection = requests // connections

    def worker(n: int) -> None:
        rng = random.Random(n)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for i in range(per_connection):
            body = json.dumps(
                {
                    "user": f"E{100 + (n * per_connection + i) % 1800:06d}",
                    "text": rng.choice(TEXTS),
                    "channel": "web",
                }
            )
            start = time.perf_counter()
            connection.request("POST", "/v1/messages", body, {"content-type": "application/json"})
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - start)
            errors[0] += response.status != 200

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    ms = sorted(v * 1000 for v in latencies)
    print(f"HTTP API on loopback, {connections} keep-alive connections, fsync before every reply:")
    print(
        f"  {len(ms):,} requests in {elapsed:.2f} s: {len(ms) / elapsed:,.0f} requests/s "
        f"(goal >= 300), {errors[0]} errors"
    )
    print(
        f"  latency p50 {statistics.median(ms):.1f} ms, p95 {ms[int(0.95 * len(ms))]:.1f} ms, "
        f"p99 {ms[int(0.99 * len(ms))]:.1f} ms (goal p99 <= 50 ms)"
    )


def main() -> None:
    """Start the server, load it, stop it."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--load-only-port", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_only_port:
        load(args.load_only_port, args.requests, args.connections)
        return
    port = free_port()
    with tempfile.TemporaryDirectory() as data_dir:
        env = {**os.environ, "UNTICKET_DATA_DIR": data_dir}
        server = subprocess.Popen(
            [sys.executable, "-m", "unticket", "serve", "--port", str(port)],
            cwd=PROJECT_ROOT,
            env=env,
        )
        try:
            wait_healthy(port)
            warm = [
                sys.executable,
                __file__,
                "--load-only-port",
                str(port),
                "--requests",
                "400",
                "--connections",
                "4",
            ]
            subprocess.run(warm, check=True, capture_output=True)
            subprocess.run(
                [
                    sys.executable,
                    __file__,
                    "--load-only-port",
                    str(port),
                    "--requests",
                    str(args.requests),
                    "--connections",
                    str(args.connections),
                ],
                check=True,
            )
        finally:
            server.terminate()
            server.wait(timeout=30)


if __name__ == "__main__":
    main()
