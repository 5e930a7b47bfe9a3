"""HTTP API throughput and latency on loopback, with real credentials, and what checking them costs.

Starts a local OpenID Connect provider (`oidc-provider-mock`) and `unticket serve` (one process,
the default) trusting it, over a fresh 2,000-employee enterprise. Each employee signs in at the
provider for an ID token (RS256); an integration's API key is created with `messages:act_as`.
Then a separate load process sends POST /v1/messages from several keep-alive connections, once
with every employee's own token and once with the key naming the employees. Prints requests/s
and latency percentiles for each, then the cost of authentication itself, measured in-process
on the same credentials: the key look-up, the token check, and the per-principal rate limit.

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
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx
from oidc_provider_mock import run_server_in_thread

from unticket.settings import PROJECT_ROOT, Settings

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
AUDIENCE = "unticket"
EMPLOYEES = [f"E{n:06d}" for n in range(100, 1900)]


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


def id_token(issuer: str, subject: str, email: str) -> str:
    """Sign `subject` in at the provider (authorization code flow); return the ID token."""
    with httpx.Client(base_url=issuer) as client:
        client.put(f"/users/{subject}", json={"email": email}).raise_for_status()
        redirect = "http://127.0.0.1:9/callback"
        params = {"client_id": AUDIENCE, "redirect_uri": redirect, "response_type": "code"}
        consent = client.post(
            "/oauth2/authorize", params=params | {"scope": "openid email"}, data={"sub": subject}
        )
        code = parse_qs(urlsplit(consent.headers["location"]).query)["code"][0]
        form = {"grant_type": "authorization_code", "code": code, "redirect_uri": redirect}
        token = client.post("/oauth2/token", data=form | {"client_id": AUDIENCE})
        return token.json()["id_token"]


def sign_everyone_in(issuer: str, settings: Settings) -> dict[str, str]:
    """Every employee's ID token, by employee id."""
    from resolver.connectors.embedded import EmbeddedDirectory, EnterpriseStore

    store = EnterpriseStore(settings.state_db)
    directory = EmbeddedDirectory(store)
    try:
        emails = {e: directory.get_person(e).email for e in EMPLOYEES}  # type: ignore[union-attr]
    finally:
        store.close()
    return {employee: id_token(issuer, employee, email) for employee, email in emails.items()}


def load(port: int, requests: int, connections: int, credentials: dict[str, str]) -> None:
    """Send the requests from `connections` threads; print the figures. `credentials` maps an
    employee to the bearer credential to send (their own token, or the integration's key)."""
    latencies: list[float] = []
    errors: dict[int, int] = {}
    per_connection = requests // connections
    key_names_employee = len(set(credentials.values())) == 1

    def worker(n: int) -> None:
        rng = random.Random(n)
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
        for i in range(per_connection):
            employee = EMPLOYEES[(n * per_connection + i) % len(EMPLOYEES)]
            message = {"text": rng.choice(TEXTS), "channel": "web"}
            body = json.dumps(message | ({"user": employee} if key_names_employee else {}))
            headers = {
                "content-type": "application/json",
                "authorization": f"Bearer {credentials[employee]}",
            }
            start = time.perf_counter()
            connection.request("POST", "/v1/messages", body, headers)
            response = connection.getresponse()
            response.read()
            latencies.append(time.perf_counter() - start)
            if response.status != 200:
                errors[response.status] = errors.get(response.status, 0) + 1

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(connections)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - began
    ms = sorted(v * 1000 for v in latencies)
    print(
        f"  {len(ms):,} requests in {elapsed:.2f} s: {len(ms) / elapsed:,.0f} requests/s "
        f"(goal >= 600), errors: {errors or 'none'}"
    )
    print(
        f"  latency p50 {statistics.median(ms):.1f} ms, p95 {ms[int(0.95 * len(ms))]:.1f} ms, "
        f"p99 {ms[int(0.99 * len(ms))]:.1f} ms (goal p99 <= 50 ms)"
    )


def microseconds(call: Callable[[], object], repeat: int) -> float:
    """The median of five timings of `repeat` calls, per call, in microseconds."""
    runs = []
    for _ in range(5):
        began = time.perf_counter()
        for _ in range(repeat):
            call()
        runs.append((time.perf_counter() - began) / repeat * 1e6)
    return statistics.median(runs)


def authentication_cost(settings: Settings, key: str, tokens: list[str]) -> None:
    """Time the checks every request pays, in this process, on the server's credentials."""
    from resolver.apikeys import ApiKeys
    from resolver.authentication import RequestLimits, authenticator

    keys = ApiKeys(settings.api_keys_db)
    auth = authenticator(settings, keys)
    limits = RequestLimits("1000000/minute", "1000000/second")
    auth.authenticate(f"Bearer {tokens[0]}")  # discovery and keys, fetched once
    cycle = iter(tokens * 1000)
    principal = auth.authenticate(f"Bearer {key}")
    figures = {
        "API key look-up (SHA-256, SQLite)": (lambda: auth.authenticate(f"Bearer {key}"), 2000),
        "OIDC token check (RS256 signature, issuer, audience, expiry)": (
            lambda: auth.authenticate(f"Bearer {next(cycle)}"),
            1000,
        ),
        "per-principal rate limit (moving window)": (lambda: limits.hit(principal), 2000),
    }
    print("Authentication, per request (in-process, median of 5 runs):")
    for what, (call, repeat) in figures.items():
        print(f"  {what}: {microseconds(call, repeat):.0f} µs")
    keys.close()


def serve(settings: Settings, port: int) -> subprocess.Popen:
    """`unticket serve` on the data dir, trusting the provider."""
    env = {
        **os.environ,
        "UNTICKET_DATA_DIR": str(settings.data_dir),
        "UNTICKET_OIDC_ISSUER": settings.oidc_issuer,
        "UNTICKET_OIDC_AUDIENCE": settings.oidc_audience,
        "UNTICKET_API_KEY_RATE_LIMIT": settings.api_key_rate_limit,
    }
    command = [sys.executable, "-m", "unticket", "serve", "--port", str(port)]
    return subprocess.Popen(command, cwd=PROJECT_ROOT, env=env)


def load_in_another_process(port: int, requests: int, connections: int, file: Path) -> None:
    """Run `load` in a process of its own, on the credentials written to `file`."""
    command = [sys.executable, __file__, "--load-only-port", str(port), "--credentials", str(file)]
    command += ["--requests", str(requests), "--connections", str(connections)]
    subprocess.run(command, check=True)


def main() -> None:
    """Start the provider and the server, load it with tokens and with a key, time the checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--load-only-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--credentials", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_only_port:
        credentials = json.loads(args.credentials.read_text())
        load(args.load_only_port, args.requests, args.connections, credentials)
        return
    from resolver.apikeys import ApiKeys
    from resolver.runtime import build_runtime

    port = free_port()
    with tempfile.TemporaryDirectory() as folder, run_server_in_thread(port=0) as provider:
        issuer = f"http://localhost:{provider.server_port}"
        settings = Settings(
            data_dir=Path(folder),
            oidc_issuer=issuer,
            oidc_audience=AUDIENCE,
            api_key_rate_limit="100000/minute",  # one key carries the whole load here
        )
        build_runtime(settings).close()  # the enterprise and the intent model
        print(f"Signing {len(EMPLOYEES):,} employees in at the provider for their ID tokens...")
        tokens = sign_everyone_in(issuer, settings)
        keys = ApiKeys(settings.api_keys_db)
        key = keys.create("bench", ["messages:act_as"], datetime.now(UTC))
        keys.close()
        files = {"tokens": Path(folder) / "tokens.json", "key": Path(folder) / "key.json"}
        files["tokens"].write_text(json.dumps(tokens))
        files["key"].write_text(json.dumps(dict.fromkeys(EMPLOYEES, key)))
        server = serve(settings, port)
        try:
            wait_healthy(port)
            load_in_another_process(port, 400, 4, files["key"])  # warm up
            print(
                f"HTTP API on loopback, {args.connections} keep-alive connections, "
                "fsync before every reply:"
            )
            print("with each employee's own OIDC ID token:")
            load_in_another_process(port, args.requests, args.connections, files["tokens"])
            print("with an integration's API key (messages:act_as) naming the employee:")
            load_in_another_process(port, args.requests, args.connections, files["key"])
        finally:
            server.terminate()
            server.wait(timeout=30)
        authentication_cost(settings, key, list(tokens.values()))


if __name__ == "__main__":
    main()
