"""Serving the dashboards (`dashboards/server.py`): demo mode stays on loopback, sign-in writes
Streamlit's `[auth]` secrets privately, and the launcher never looks up the external IP."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path

import pytest
from streamlit import net_util
from streamlit.testing.v1.util import patch_config_options

from dashboards import server
from settings import Settings

SIGN_IN = {
    "oidc_issuer": "https://login.example.com/",
    "oidc_client_id": "unticket-dashboards",
    "oidc_client_secret": 'a "quoted" secret \\ with ünïcode',
    "dashboard_url": "https://it.example.com/",
}


def mode(path: Path) -> int:
    """The file's permission bits."""
    return stat.S_IMODE(path.stat().st_mode)


@pytest.mark.parametrize("address", ["0.0.0.0", "::", "192.168.1.20", "dashboards.example.com"])
def test_demo_mode_refuses_addresses_beyond_loopback(tmp_path: Path, address: str) -> None:
    demo = Settings(data_dir=tmp_path)
    with pytest.raises(
        server.DemoModeAddressError, match=r"listen on 127\.0\.0\.1 only"
    ) as refused:
        server.serve(demo, address, 8501, headless=True)
    assert "UNTICKET_OIDC_CLIENT_SECRET" in str(refused.value)
    server.check_address(Settings(data_dir=tmp_path, **SIGN_IN), address)  # sign-in: allowed


@pytest.mark.parametrize("address", ["127.0.0.1", "localhost", "::1"])
def test_demo_mode_serves_loopback(tmp_path: Path, address: str) -> None:
    server.check_address(Settings(data_dir=tmp_path), address)


def test_sign_in_writes_private_auth_secrets(tmp_path: Path) -> None:
    settings = Settings(data_dir=tmp_path, **SIGN_IN)
    command = server.command(settings, "0.0.0.0", 8600, headless=True)
    options = dict(zip(command[5::2], command[6::2], strict=True))
    assert command[1:5] == ["-m", "dashboards.server", "run", str(server.APP)]
    assert options["--server.address"] == "0.0.0.0"
    secrets_file = Path(options["--secrets.files"])
    assert secrets_file.parent == tmp_path and mode(secrets_file) == 0o600
    auth = tomllib.loads(secrets_file.read_text())["auth"]
    assert auth["redirect_uri"] == "https://it.example.com/oauth2callback"
    assert auth["server_metadata_url"] == (
        "https://login.example.com/.well-known/openid-configuration"
    )
    assert (auth["client_id"], auth["client_secret"]) == (
        "unticket-dashboards",
        SIGN_IN["oidc_client_secret"],
    )
    assert len(auth["cookie_secret"]) >= 32

    cookie_file = tmp_path / "dashboard-cookie-secret"
    assert mode(cookie_file) == 0o600
    server.write_secrets(settings)  # a restart keeps people signed in
    assert tomllib.loads(secrets_file.read_text())["auth"]["cookie_secret"] == auth["cookie_secret"]


def test_the_launcher_never_asks_for_the_external_ip(monkeypatch: pytest.MonkeyPatch) -> None:
    requests: list[str] = []
    monkeypatch.setattr(net_util, "_make_blocking_http_get", lambda url, **_: requests.append(url))
    monkeypatch.setattr(net_util, "get_external_ip", net_util.get_external_ip)  # restored after
    monkeypatch.setattr(sys, "argv", ["streamlit", "version"])
    with pytest.raises(SystemExit):
        server.main()  # the launcher, running Streamlit's `version` command

    from streamlit.web import bootstrap

    printed: list[str] = []
    monkeypatch.setattr(bootstrap.cli_util, "print_to_cli", lambda text, **_: printed.append(text))
    wildcard = {"server.address": "0.0.0.0", "server.headless": True}
    with patch_config_options(wildcard):
        bootstrap._print_url(is_running_hello=False)  # what start-up prints
    assert requests == []
    labels = [text.strip() for text in printed]
    assert "Local URL:" in labels and "External URL:" not in labels


def test_stopping_the_dashboard_command_stops_streamlit(
    tmp_path: Path, trained_models: Path
) -> None:
    from tests.conftest import make_settings
    from tests.dashboards.test_browser import free_port, wait_for_port

    settings = make_settings(tmp_path / "data", trained_models)
    port = free_port()
    command = [sys.executable, "-m", "unticket", "dashboard", "--headless", "--port", str(port)]
    process = subprocess.Popen(
        command,
        env={**os.environ, "UNTICKET_DATA_DIR": str(settings.data_dir)},
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # so that cleaning up can reach a Streamlit left behind
    )
    try:
        wait_for_port(port, process, timeout=120)
        process.send_signal(signal.SIGTERM)  # to the command only, as a service manager does
        process.wait(timeout=30)
        deadline = time.monotonic() + 15
        while _listening(port) and time.monotonic() < deadline:
            time.sleep(0.2)
        assert not _listening(port), "Streamlit still holds the port"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGKILL)


def _listening(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
    except OSError:
        return False
    return True
