"""Serving the dashboards: `unticket dashboard` calls `serve`, which runs Streamlit through this
module's launcher (`python -m dashboards.server run dashboards/app.py ...`).

Without OpenID Connect the dashboards run in demo mode and listen on loopback only. With it,
`serve` writes Streamlit's `[auth]` secrets (mode 0600, in the data dir) so `st.login` signs
people in through the company's provider. Either way nothing leaves the machine: no usage
statistics, no e-mail prompt, and the launcher switches off Streamlit's look-up of the
machine's external IP address (an HTTP request to checkip.amazonaws.com).
"""

from __future__ import annotations

import json
import os
import secrets
import signal
import subprocess
import sys
from pathlib import Path

from resolver.connectors.embedded import private_file
from settings import Settings, is_loopback

APP = Path(__file__).resolve().with_name("app.py")
DEMO_ADDRESS = "127.0.0.1"
SIGN_IN_SETTINGS = (
    "UNTICKET_OIDC_ISSUER",
    "UNTICKET_OIDC_CLIENT_ID",
    "UNTICKET_OIDC_CLIENT_SECRET",
)


class DemoModeAddressError(ValueError):
    """Demo mode (no sign-in) was asked to listen beyond this machine."""


def check_address(settings: Settings, address: str) -> None:
    """Refuse a non-loopback address unless the dashboards sign people in."""
    if not settings.dashboard_sign_in_enabled and not is_loopback(address):
        raise DemoModeAddressError(
            f"the dashboards run in demo mode (no sign-in: anyone who reaches them sees every "
            f"page and may act as any employee), so they listen on {DEMO_ADDRESS} only, not "
            f"{address}. To serve other addresses, sign people in through your OpenID Connect "
            f"provider: set {', '.join(SIGN_IN_SETTINGS)} (and UNTICKET_DASHBOARD_URL)."
        )


def secrets_file(settings: Settings) -> Path:
    """Where the dashboards' Streamlit secrets (the `[auth]` section) are written."""
    return settings.data_dir / "dashboard-secrets.toml"


def cookie_secret(settings: Settings) -> str:
    """The key signing the sign-in cookie: generated once, kept in a 0600 file in the data dir,
    so people stay signed in across restarts."""
    path = settings.data_dir / "dashboard-cookie-secret"
    if path.exists() and (kept := path.read_text().strip()):
        private_file(path)
        return kept
    secret = secrets.token_urlsafe(32)
    private_file(path).write_text(secret + "\n")
    return secret


def auth_secrets(settings: Settings) -> dict[str, str]:
    """Streamlit's `[auth]` section for the configured provider and client."""
    assert settings.oidc_client_secret is not None
    return {
        "redirect_uri": settings.dashboard_url.rstrip("/") + "/oauth2callback",
        "cookie_secret": cookie_secret(settings),
        "client_id": settings.oidc_client_id,
        "client_secret": settings.oidc_client_secret.get_secret_value(),
        "server_metadata_url": (
            settings.oidc_issuer.rstrip("/") + "/.well-known/openid-configuration"
        ),
    }


def write_secrets(settings: Settings) -> Path:
    """Write the `[auth]` secrets to a 0600 TOML file in the data dir; return its path."""
    # A JSON string (ASCII, escaped) is also a valid TOML basic string.
    lines = ["[auth]", *(f"{k} = {json.dumps(v)}" for k, v in auth_secrets(settings).items())]
    path = private_file(secrets_file(settings))
    path.write_text("\n".join(lines) + "\n")
    return path


def command(settings: Settings, address: str, port: int, headless: bool) -> list[str]:
    """The launcher's command line; with sign-in it also writes and names the secrets file."""
    options = {
        "server.address": address,
        "server.port": str(port),
        "server.headless": str(headless).lower(),
        "server.showEmailPrompt": "false",
        "browser.gatherUsageStats": "false",
        "client.showErrorDetails": "type",
        # Tables' own CSV export writes cells as stored (`=HYPERLINK(...)` would run in a
        # spreadsheet); every table and chart has a "Download CSV" button (dashboards/ui.py).
        "client.disableDataExport": "true",
    }
    if settings.dashboard_sign_in_enabled:
        options["secrets.files"] = str(write_secrets(settings))
    flags = [part for name, value in options.items() for part in (f"--{name}", value)]
    return [sys.executable, "-m", "dashboards.server", "run", str(APP), *flags]


def serve(settings: Settings, address: str, port: int, headless: bool) -> int:
    """Run the dashboards on `address:port` until stopped; return Streamlit's exit code.
    A SIGTERM is passed on to Streamlit, so stopping this process frees the port. Raises
    `DemoModeAddressError` for a non-loopback address without sign-in."""
    check_address(settings, address)
    env = {**os.environ, "UNTICKET_DATA_DIR": str(settings.data_dir)}
    streamlit = subprocess.Popen(command(settings, address, port, headless), env=env)
    previous = signal.signal(signal.SIGTERM, lambda signum, _: streamlit.send_signal(signum))
    try:
        return streamlit.wait()
    except KeyboardInterrupt:  # Ctrl+C reached Streamlit too: let it finish stopping
        return streamlit.wait()
    finally:
        signal.signal(signal.SIGTERM, previous)


def _no_external_ip() -> None:
    """Stands in for `streamlit.net_util.get_external_ip`: never asks the internet."""
    return None


def main() -> None:
    """The launcher: Streamlit's own command line, without its external-IP look-up."""
    from streamlit import net_util
    from streamlit.web import cli

    net_util.get_external_ip = _no_external_ip
    cli.main(prog_name="streamlit")


if __name__ == "__main__":
    main()
