"""HTTP API throughput and latency on loopback, with real credentials, and what checking them costs.

Starts a local OpenID Connect provider (`oidc-provider-mock`) and `unticket serve` (one process,
the default) trusting it, over a fresh 2,000-employee enterprise. Each employee signs in at the
provider for an ID token (RS256); an integration's API key is created with `messages:act_as`.
Then a separate load process sends POST /v1/messages from several keep-alive connections, once
with every employee's own token and once with the key naming the employees. Prints requests/s
and latency percentiles for each, then the cost of authentication itself, measured in-process
on the same credentials: the key look-up, the token check, and the per-principal rate limit.

This machine's speed drifts several-fold over a day, so `--baseline REV` also serves the same
load (the API key's requests, which a server without authentication just ignores the header of)
from a checkout of another revision (`git worktree`), alternating with this one round by round:
the ratio of the two is the figure to quote, not either absolute.

Run: .venv/bin/python bench/http_api.py [--requests 6000] [--connections 8] [--baseline REV]
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import logging
import os
import random
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import httpx

from settings import PROJECT_ROOT, Settings

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
DESCRIPTIONS = {
    "tokens": "with each employee's own OIDC ID token",
    "key": "with an integration's API key (messages:act_as) naming the employee",
}
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
        client_auth = {"client_id": AUDIENCE, "client_secret": "bench"}  # any, to the mock
        token = client.post("/oauth2/token", data=form | client_auth)
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
    """Send the requests from `connections` threads; print the figures, the last line being
    `requests/s p99`. `credentials` maps an employee to the bearer credential to send (their
    own token, or the integration's key)."""
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
    p99 = ms[int(0.99 * len(ms))]
    print(
        f"  latency p50 {statistics.median(ms):.1f} ms, p95 {ms[int(0.95 * len(ms))]:.1f} ms, "
        f"p99 {p99:.1f} ms (goal p99 <= 50 ms)"
    )
    print(f"{len(ms) / elapsed:.1f} {p99:.2f}")


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
    began = time.perf_counter()
    for token in tokens[1:]:
        auth.authenticate(f"Bearer {token}")
    first_use = (time.perf_counter() - began) / (len(tokens) - 1) * 1e6
    principal = auth.authenticate(f"Bearer {key}")
    figures = {
        "API key look-up (SHA-256, active keys in memory)": (
            lambda: auth.authenticate(f"Bearer {key}"),
            2000,
        ),
        "OIDC token seen before (remembered until it expires)": (
            lambda: auth.authenticate(f"Bearer {tokens[7]}"),
            2000,
        ),
        "per-principal rate limit (moving window)": (lambda: limits.hit(principal), 2000),
    }
    print("Authentication, per request (in-process, median of 5 runs):")
    print(
        f"  OIDC token, first use (RS256 signature, issuer, audience, expiry): {first_use:.0f} µs "
        f"(mean of {len(tokens) - 1:,} tokens)"
    )
    for what, (call, repeat) in figures.items():
        print(f"  {what}: {microseconds(call, repeat):.0f} µs")
    keys.close()


def serve(settings: Settings, port: int, tree: Path = PROJECT_ROOT) -> subprocess.Popen:
    """`unticket serve` from the checkout `tree` on the data dir, trusting the provider."""
    env = {
        **os.environ,
        "UNTICKET_DATA_DIR": str(settings.data_dir),
        "UNTICKET_OIDC_ISSUER": settings.oidc_issuer,
        "UNTICKET_OIDC_AUDIENCE": settings.oidc_audience,
        "UNTICKET_API_KEY_RATE_LIMIT": settings.api_key_rate_limit,
    }
    command = [sys.executable, "-m", "unticket", "serve", "--port", str(port)]
    return subprocess.Popen(command, cwd=tree, env=env)


@dataclass(frozen=True)
class Figures:
    """One load's figures: requests/s, p99 latency (ms), the server's CPU per request (ms)."""

    rate: float
    p99: float
    cpu: float

    def ratio(self, other: Figures) -> Figures:
        """Each figure divided by `other`'s."""
        return Figures(self.rate / other.rate, self.p99 / other.p99, self.cpu / other.cpu)


def cpu_seconds(pid: int) -> float:
    """The user and system CPU time a process has used so far (Linux: /proc/<pid>/stat)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def load_in_another_process(
    server: subprocess.Popen, port: int, requests: int, connections: int, file: Path
) -> Figures:
    """Run `load` in a process of its own, on the credentials written to `file`; return its
    figures and the server's CPU time per request (less sensitive than throughput to what
    else the machine is doing)."""
    command = [sys.executable, __file__, "--load-only-port", str(port), "--credentials", str(file)]
    command += ["--requests", str(requests), "--connections", str(connections)]
    before = cpu_seconds(server.pid)
    output = subprocess.run(command, check=True, capture_output=True, text=True).stdout
    cpu = (cpu_seconds(server.pid) - before) / requests * 1000
    *lines, last = output.rstrip().splitlines()
    rate, p99 = last.split()
    print("\n".join(lines) + f"\n  server CPU {cpu:.2f} ms per request")
    return Figures(float(rate), float(p99), cpu)


def run_once(
    settings: Settings, tree: Path, name: str, file: Path, args: argparse.Namespace
) -> Figures:
    """Serve from `tree` on a copy of the prepared data dir (every run starts from the same
    enterprise, with no conversation of an earlier run), warm it up, load it with the
    credentials in `file`; return the figures."""
    port = free_port()
    with tempfile.TemporaryDirectory() as copy:
        shutil.copytree(settings.data_dir, copy, dirs_exist_ok=True)
        server = serve(settings.model_copy(update={"data_dir": Path(copy)}), port, tree)
        try:
            wait_healthy(port)
            warm = [sys.executable, __file__, "--load-only-port", str(port), "--requests", "400"]
            warm += ["--credentials", str(file), "--connections", "4"]
            subprocess.run(warm, check=True, capture_output=True)
            print(f"  {DESCRIPTIONS[name]}:")
            return load_in_another_process(server, port, args.requests, args.connections, file)
        finally:
            server.terminate()
            server.wait(timeout=30)


@contextlib.contextmanager
def checkout(revision: str) -> Iterator[Path]:
    """A detached working tree of `revision` for the length of the block."""
    folder = Path(tempfile.mkdtemp(prefix="unticket-baseline-"))
    git = ["git", "-C", str(PROJECT_ROOT)]
    subprocess.run([*git, "worktree", "add", "--detach", str(folder), revision], check=True)
    try:
        yield folder
    finally:
        subprocess.run([*git, "worktree", "remove", "--force", str(folder)], check=True)


def main() -> None:
    """Start the provider and the server, load it with tokens and with a key, time the checks."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=6000)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--baseline", help="a git revision to pair this checkout against")
    parser.add_argument("--rounds", type=int, default=3, help="rounds of the pairing")
    parser.add_argument("--load-only-port", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--credentials", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_only_port:
        credentials = json.loads(args.credentials.read_text())
        load(args.load_only_port, args.requests, args.connections, credentials)
        return
    from oidc_provider_mock import run_server_in_thread

    from resolver.apikeys import ApiKeys
    from resolver.runtime import build_runtime

    logging.getLogger("werkzeug").setLevel(logging.WARNING)  # the provider's request log
    with tempfile.TemporaryDirectory() as folder, run_server_in_thread(port=0) as provider:
        issuer = f"http://localhost:{provider.server_port}"
        settings = Settings(
            data_dir=Path(folder),
            oidc_issuer=issuer,
            oidc_audience=AUDIENCE,
            api_key_rate_limit="1000/second",  # one key carries the whole load here
        )
        build_runtime(settings).close()  # the enterprise and the intent model
        print(f"Signing {len(EMPLOYEES):,} employees in at the provider for their ID tokens...")
        tokens = sign_everyone_in(issuer, settings)
        keys = ApiKeys(settings.api_keys_db)
        key = keys.create("bench", ["messages:act_as"], datetime.now(UTC))
        keys.close()
        files = {name: Path(folder) / f"{name}.json" for name in DESCRIPTIONS}
        files["tokens"].write_text(json.dumps(tokens))
        files["key"].write_text(json.dumps(dict.fromkeys(EMPLOYEES, key)))
        print(
            f"HTTP API on loopback, {args.connections} keep-alive connections, "
            "fsync before every reply:"
        )
        if args.baseline:
            compare(settings, files, args)
        else:
            for name, file in files.items():
                run_once(settings, PROJECT_ROOT, name, file, args)
        authentication_cost(settings, key, list(tokens.values()))


def compare(settings: Settings, files: dict[str, Path], args: argparse.Namespace) -> None:
    """Rounds of the baseline's server and this checkout's, in turn (the first to run changes
    from round to round); print each run and the median ratio of each of this checkout's runs
    to the baseline's run of the same round."""
    ratios: dict[str, list[Figures]] = {name: [] for name in files}
    with checkout(args.baseline) as baseline:
        for number in range(1, args.rounds + 1):
            runs: dict[str, Figures] = {}
            order = ["baseline", *files] if number % 2 else [*files, "baseline"]
            for run in order:
                if run == "baseline":
                    print(f"round {number}, {args.baseline} (baseline, which reads no credential):")
                    runs[run] = run_once(settings, baseline, "key", files["key"], args)
                else:
                    print(f"round {number}, this checkout:")
                    runs[run] = run_once(settings, PROJECT_ROOT, run, files[run], args)
            for name in files:
                ratios[name].append(runs[name].ratio(runs["baseline"]))
    print(f"This checkout against {args.baseline}, median of {args.rounds} rounds:")
    for name, pairs in ratios.items():
        rate = statistics.median(p.rate for p in pairs)
        p99 = statistics.median(p.p99 for p in pairs)
        cpu = statistics.median(p.cpu for p in pairs)
        print(
            f"  {DESCRIPTIONS[name]}: requests/s x{rate:.2f}, p99 x{p99:.2f}, "
            f"server CPU per request x{cpu:.2f}"
        )


if __name__ == "__main__":
    main()
