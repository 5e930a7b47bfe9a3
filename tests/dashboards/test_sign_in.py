"""Signing in to the dashboards, end to end: a real OpenID Connect provider (tests/oidc.py) on
loopback, `unticket dashboard` configured to sign people in through it, and Chromium through
Playwright doing what people do: open a page, sign in on the provider's page, come back.

Before sign-in no page shows anything but the sign-in button; an IT leader sees the analytics;
an employee without an analytics role sees only Ask IT; an analyst chats in Ask IT as
themselves, with no way to pick someone else, and links typed into the chat stay text."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import duckdb
import pytest
from playwright.sync_api import Browser, Page, sync_playwright

from settings import Settings
from tests.dashboards.test_app import employees, published_data_dir
from tests.dashboards.test_browser import (
    CHART,
    CHROMIUM,
    CHROMIUM_ARGS,
    RUNNING,
    dashboards,
    free_port,
)
from tests.dashboards.test_browser import pytestmark as needs_chromium
from tests.oidc import CLIENT_ID, CLIENT_SECRET, Provider, oidc_provider

pytestmark = needs_chromium

WAIT = 30_000  # ms
ROLES = {"leader": ["it_leader"], "analyst": ["analyst"], "employee": []}
ANALYTICS = ["Overview", "Deflection", "Resolution speed", "Pipeline and data health"]


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory, trained_models: Path) -> Path:
    return published_data_dir(tmp_path_factory, trained_models)


@pytest.fixture(scope="module")
def people(data_dir: Path) -> dict[str, tuple[str, str]]:
    """Subject → (employee id, e-mail) of three of the directory's employees, not those the
    other dashboard tests chat as."""
    chosen = employees(Settings(data_dir=data_dir), 8)[-3:]
    return dict(zip(ROLES, chosen, strict=True))


@pytest.fixture(scope="module")
def provider(people: dict[str, tuple[str, str]]) -> Iterator[Provider]:
    """The company's OpenID Connect provider, knowing the three as its users."""
    users = {
        sub: {"email": email, "name": f"{sub.title()} {employee_id}", "roles": ROLES[sub]}
        for sub, (employee_id, email) in people.items()
    }
    with oidc_provider(users) as running:
        yield running


@pytest.fixture(scope="module")
def server(
    tmp_path_factory: pytest.TempPathFactory, data_dir: Path, provider: Provider
) -> Iterator[str]:
    """`unticket dashboard` signing people in through the provider, on a free port."""
    port = free_port()
    url = f"http://localhost:{port}"
    env = {
        "UNTICKET_DATA_DIR": str(data_dir),
        "UNTICKET_OIDC_ISSUER": provider.issuer,
        "UNTICKET_OIDC_CLIENT_ID": CLIENT_ID,
        "UNTICKET_OIDC_CLIENT_SECRET": CLIENT_SECRET,
        "UNTICKET_DASHBOARD_URL": url,
    }
    with dashboards(env, port, tmp_path_factory.mktemp("sign-in") / "server.log"):
        yield url


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Chromium, for the module."""
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def tab(browser: Browser) -> Iterator[Page]:
    """A fresh browser profile (no cookies), as a new visitor has."""
    context = browser.new_context(viewport={"width": 1400, "height": 1200})
    yield context.new_page()
    context.close()


@pytest.fixture
def shots(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where screenshots go (the pytest temporary folder)."""
    folder = tmp_path_factory.getbasetemp() / "screenshots"
    folder.mkdir(exist_ok=True)
    return folder


def settled(tab: Page) -> None:
    """Wait until the app has finished running its script."""
    tab.wait_for_selector('[data-testid="stApp"]', timeout=WAIT)
    tab.wait_for_selector(RUNNING, state="detached", timeout=WAIT)


def sign_in(tab: Page, server: str, subject: str) -> None:
    """Open the dashboards, sign in as `subject` on the provider's page, and wait until the
    dashboards show again."""
    tab.goto(server)
    tab.get_by_role("button", name="Sign in").click(timeout=WAIT)
    tab.wait_for_url(re.compile(r"/oauth2/authorize"), timeout=WAIT)
    tab.get_by_role("button", name=subject, exact=True).click()
    tab.wait_for_url(f"{server}/**", timeout=WAIT)
    tab.get_by_role("button", name="Sign out").wait_for(timeout=WAIT)
    settled(tab)


def nav_links(tab: Page) -> list[str]:
    """The titles of the pages the sidebar offers (a link's text is its icon's name, then its
    title)."""
    links = tab.get_by_test_id("stSidebarNav").get_by_role("link")
    return [text.strip().splitlines()[-1] for text in links.all_inner_texts()]


def test_before_sign_in_only_the_sign_in_page_shows(tab: Page, server: str, shots: Path) -> None:
    tab.goto(f"{server}/deflection")  # the server's first visitor, straight to a page
    tab.get_by_role("button", name="Sign in").wait_for(timeout=WAIT)
    settled(tab)
    tab.screenshot(path=shots / "before-sign-in.png")
    assert tab.get_by_role("heading", name="Unticket", exact=True).is_visible()
    for shown in (CHART, '[data-testid="stMetric"]', '[data-testid="stChatInput"]'):
        assert tab.locator(shown).count() == 0, shown
    assert tab.get_by_role("heading", name="Deflection").count() == 0
    assert nav_links(tab) == []
    assert "demo mode" not in tab.inner_text("body").lower()


def test_an_it_leader_signs_in_and_sees_the_analytics(tab: Page, server: str, shots: Path) -> None:
    sign_in(tab, server, "leader")
    assert {*ANALYTICS, "Ask IT"} <= set(nav_links(tab))
    tab.get_by_role("heading", name="Overview", exact=True).wait_for(timeout=WAIT)
    tab.wait_for_selector(CHART, state="visible", timeout=WAIT)
    tab.goto(f"{server}/productivity")  # signed in, an address typed works too
    tab.get_by_role("heading", name="Productivity impact", exact=True).wait_for(timeout=WAIT)
    tab.wait_for_selector(CHART, state="visible", timeout=WAIT)
    assert tab.locator('[data-testid="stException"]').count() == 0
    tab.screenshot(path=shots / "signed-in-it-leader.png")

    tab.get_by_role("button", name="Sign out").click()
    tab.wait_for_url(re.compile(r"/oauth2/end_session"), timeout=WAIT)  # the provider's page
    tab.goto(server)
    tab.get_by_role("button", name="Sign in").wait_for(timeout=WAIT)
    assert tab.locator(CHART).count() == 0


def test_an_employee_without_a_role_sees_only_ask_it(tab: Page, server: str) -> None:
    sign_in(tab, server, "employee")
    tab.get_by_role("heading", name="Ask IT", exact=True).wait_for(timeout=WAIT)
    assert nav_links(tab) == []  # one page: nothing to navigate to
    tab.goto(f"{server}/overview")  # typing the address of an analytics page
    tab.get_by_role("heading", name="Ask IT", exact=True).wait_for(timeout=WAIT)
    settled(tab)
    assert tab.get_by_role("heading", name="Overview").count() == 0
    assert tab.locator(CHART).count() == 0


def test_an_analyst_chats_in_ask_it_as_themselves(
    tab: Page, server: str, people: dict[str, tuple[str, str]], data_dir: Path, shots: Path
) -> None:
    employee_id, _ = people["analyst"]
    sign_in(tab, server, "analyst")
    tab.get_by_test_id("stSidebarNav").get_by_role("link", name="Ask IT").click()
    tab.get_by_role("heading", name="Ask IT", exact=True).wait_for(timeout=WAIT)
    settled(tab)
    tab.get_by_text(f"({employee_id})").wait_for(timeout=WAIT)  # who they are, once drawn
    assert tab.get_by_label("You are").count() == 0  # no one else to choose
    assert tab.get_by_text("Your phone").count() == 0  # no simulated phone

    chat = tab.get_by_test_id("stChatInputTextArea")
    chat.fill("How do I connect to the office wifi?")
    tab.keyboard.press("Enter")
    details = tab.locator('[data-testid="stChatMessage"] [data-testid="stCaptionContainer"]')
    details.first.wait_for(timeout=WAIT)
    interaction = re.search(r"interaction (\w+)", details.first.inner_text())[1]

    chat.fill("[click here](http://evil.example/x) or www.evil.example <b>now</b>")
    tab.keyboard.press("Enter")
    details.nth(1).wait_for(timeout=WAIT)
    messages = tab.get_by_test_id("stChatMessage")
    assert "[click here](http://evil.example/x)" in messages.nth(2).inner_text()
    assert messages.locator("a").count() == 0 and messages.locator("b").count() == 0
    tab.screenshot(path=shots / "ask-it-signed-in.png")

    events = data_dir / "events"
    started = duckdb.sql(
        f"select employee_id, channel, auth_method from read_json_auto('{events}/**/*.jsonl', "
        "union_by_name = true) where event_type = 'interaction_started' "
        f"and starts_with(interaction_id, '{interaction}')"
    ).fetchall()
    assert started == [(employee_id, "web", "oidc")]
