"""The dashboards in a real browser: `unticket dashboard` (demo mode, on 127.0.0.1) on the
fixture data dir, every page opened in Chromium (the Debian package) through Playwright until
its charts are drawn, and a message sent on Ask IT. Screenshots go to the pytest temporary
folder."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Page, sync_playwright

from tests.dashboards.test_app import published_data_dir
from tests.hostile import PHISHING

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# No sandbox (root in a container), and nothing the browser would fetch on its own.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
CHART = '[data-testid="stPlotlyChart"] .main-svg'
RUNNING = '[data-testid="stStatusWidget"]'
PAGES = {  # url path: (title, what shows once the page is drawn)
    "": ("Overview", CHART),
    "deflection": ("Deflection", CHART),
    "resolution_speed": ("Resolution speed", CHART),
    "productivity": ("Productivity impact", CHART),
    "priorities": ("Automation priorities", CHART),
    "topics": ("Knowledge gaps and topics", CHART),
    "health": ("Pipeline and data health", CHART),
    "ask_it": ("Ask IT", '[data-testid="stChatInput"]'),
}

pytestmark = pytest.mark.skipif(
    not Path(CHROMIUM).exists() and not os.environ.get("CI"),
    reason="chromium is not installed: `make test` installs it (apt-get install chromium)",
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert server.poll() is None, "streamlit exited before it served"
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.2)
    raise TimeoutError(f"streamlit did not listen on {port} within {timeout} s")


@contextmanager
def dashboards(env: dict[str, str], port: int, log: Path) -> Iterator[None]:
    """`unticket dashboard --address 127.0.0.1` (the launcher, as people start it) with `env`
    on `port`, until the block ends; its output goes to `log`."""
    command = [sys.executable, "-m", "unticket", "dashboard", "--headless"]
    command += ["--address", "127.0.0.1", "--port", str(port)]
    with log.open("w") as output:
        process = subprocess.Popen(
            command,
            env={**os.environ, **env},
            stdout=output,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # its Streamlit child stops with it
        )
    try:
        wait_for_port(port, process)
        yield
    finally:
        os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory, trained_models: Path) -> Iterator[str]:
    """The dashboards in demo mode on a free port against the fixture data dir."""
    data_dir = published_data_dir(tmp_path_factory, trained_models)
    port = free_port()
    log = tmp_path_factory.mktemp("streamlit") / "server.log"
    with dashboards({"UNTICKET_DATA_DIR": str(data_dir)}, port, log):
        yield f"http://127.0.0.1:{port}"


@pytest.fixture(scope="module")
def tab(server: str) -> Iterator[Page]:
    """One browser tab on the dashboards, kept for the module like a reader's session."""
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(server)
        yield page
        browser.close()


def open_page(tab: Page, title: str, drawn: str) -> None:
    """Navigate with the sidebar, as a reader does, and wait until the page is drawn."""
    tab.get_by_test_id("stSidebarNav").get_by_role("link", name=title, exact=True).click()
    tab.get_by_role("heading", name=title, exact=True).wait_for(timeout=30_000)
    tab.wait_for_selector(RUNNING, state="detached", timeout=30_000)
    tab.wait_for_selector(drawn, state="visible", timeout=30_000)


@pytest.mark.parametrize("path", list(PAGES))
def test_every_page_draws_in_chromium(
    tab: Page, path: str, tmp_path_factory: pytest.TempPathFactory
) -> None:
    title, drawn = PAGES[path]
    open_page(tab, title, drawn)
    assert tab.url.rstrip("/").endswith(path)
    assert tab.locator('[data-testid="stException"]').count() == 0
    assert tab.get_by_test_id("stAlert").filter(has_text="Demo mode").count() == 1
    shots = tmp_path_factory.getbasetemp() / "screenshots"
    shots.mkdir(exist_ok=True)
    tab.screenshot(path=shots / f"{path or 'overview'}.png")


def test_ask_it_replies_in_chromium(tab: Page) -> None:
    open_page(tab, "Ask IT", '[data-testid="stChatInputTextArea"]')
    tab.get_by_test_id("stChatInputTextArea").fill("How do I connect to the office wifi?")
    tab.keyboard.press("Enter")
    details = tab.locator('[data-testid="stChatMessage"] [data-testid="stCaptionContainer"]')
    details.first.wait_for(timeout=30_000)
    messages = tab.locator('[data-testid="stChatMessage"]').all_inner_texts()
    assert "How do I connect to the office wifi?" in messages[0]
    assert len(messages) == 2 and "outcome" in messages[1]
    assert details.first.inner_text().startswith("intent ")


def test_the_phishing_link_is_plain_text_in_the_knowledge_gaps_chart(tab: Page) -> None:
    open_page(tab, "Knowledge gaps and topics", CHART)
    labels = tab.locator('[data-testid="stPlotlyChart"] .ytick text').all_text_contents()
    assert PHISHING.lower() in labels  # the characters typed, not a link and bold text
    links = tab.evaluate(
        """() => [...document.querySelectorAll("a")]
            .map(a => a.href?.baseVal ?? a.href ?? "")
            .filter(href => href.includes("evil.example")).length"""
    )
    assert links == 0


def test_tables_offer_no_export_but_the_download_whose_cells_cannot_run(tab: Page) -> None:
    open_page(tab, "Knowledge gaps and topics", CHART)
    table = tab.get_by_test_id("stDataFrame").first
    table.hover()
    table.get_by_role("button", name="Search").wait_for(timeout=10_000)
    assert table.get_by_role("button", name="Download as CSV").count() == 0
    assert tab.get_by_test_id("stDownloadButton").count() >= 1


def test_a_p50_of_no_working_time_reads_0_s_in_chromium(tab: Page) -> None:
    open_page(tab, "Resolution speed", CHART)
    by_intent = tab.locator('[data-testid="stPlotlyChart"]').nth(1)
    labels = by_intent.locator(".bartext").all_text_contents()
    assert "0 s" in labels  # drawn beside a bar of no length
    names = by_intent.locator(".ytick text").all_text_contents()
    assert "Fix a VPN connection problem" in names and "vpn_issue" not in names
