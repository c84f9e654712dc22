"""A real `streamlit run` on a temporary seeded database, driven by Debian's Chromium through Playwright."""

from __future__ import annotations

import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

from qa.access import SYSTEM
from qa.db import init_db, make_engine
from qa.review.users import set_password

ROOT = Path(__file__).resolve().parents[2]
CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
        "--disable-background-networking", "--disable-component-update", "--disable-sync"]

pytestmark = pytest.mark.e2e


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def app_url(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The URL of a Streamlit server running app.py on a fresh database seeded by tests/seed.py (then by the test
    module's ``SEED(engine)``, when it has one)."""
    from tests.seed import seed_small

    db = tmp_path_factory.mktemp("e2e") / "e2e.db"
    engine = make_engine(f"sqlite:///{db}")
    init_db(engine)
    seed_small(engine)
    set_password(engine, SYSTEM, E2E_USER, E2E_PASSWORD)
    getattr(request.module, "SEED", lambda _engine: None)(engine)
    engine.dispose()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": f"sqlite:///{db}"}
    proc = subprocess.Popen(
        [sys.executable, "-m", "streamlit", "run", "app.py", "--server.headless", "true", "--server.port",
         str(port), "--server.address", "127.0.0.1", "--browser.gatherUsageStats", "false"],
        cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            if urllib.request.urlopen(f"{url}/_stcore/health", timeout=2).read() == b"ok":
                break
        except OSError:
            time.sleep(0.3)
    else:
        proc.kill()
        pytest.fail(f"streamlit did not start: {proc.stdout.read().decode()[-2000:]}")
    yield url
    proc.terminate()
    proc.wait(timeout=20)


@pytest.fixture(scope="module")
def browser() -> Iterator[object]:
    """Headless Debian Chromium; the tests skip with a reason where it or Playwright is missing."""
    playwright = pytest.importorskip("playwright.sync_api", reason="playwright is not installed")
    if not Path(CHROMIUM).exists():
        pytest.skip("Debian chromium is not installed (apt-get install chromium); scripts/test.sh installs it")
    with playwright.sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser, app_url):  # type: ignore[no-untyped-def]
    """A fresh browser page (its own Streamlit session) at a desktop size."""
    context = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN")
    pg = context.new_page()
    pg.set_default_timeout(30_000)
    yield pg
    context.close()


def settle(page, timeout: float = 30) -> None:  # type: ignore[no-untyped-def]
    """Wait until Streamlit has finished running the script (its status widget is gone)."""
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout * 1000)
    deadline = time.monotonic() + timeout
    quiet = 0
    while time.monotonic() < deadline and quiet < 3:
        quiet = quiet + 1 if page.locator('[data-testid="stStatusWidget"]').count() == 0 else 0
        page.wait_for_timeout(200)


def no_exception(page) -> None:  # type: ignore[no-untyped-def]
    """Fail with Streamlit's own message when a page shows an exception."""
    exc = page.locator('[data-testid="stException"]')
    assert exc.count() == 0, exc.first.inner_text()[:500]


E2E_USER, E2E_PASSWORD = "演示管理员", "e2e-admin-password"


def sign_in(page, user: str = E2E_USER, password: str = E2E_PASSWORD) -> None:  # type: ignore[no-untyped-def]
    """Fill in the sign-in form and wait for the app; a browser context already signed in as ``user`` (its session
    cookie from an earlier page of the same test) just goes on, and one signed in as someone else signs out first."""
    name = page.get_by_label("用户名")
    signed_in = page.locator('[data-testid="stSidebar"]').get_by_text(re.compile("^已登录："))
    # a cold server's first page imports pandas, altair and the models: slow when loaded
    name.or_(signed_in).first.wait_for(timeout=120_000)
    if name.count() == 0:
        if signed_in.first.inner_text().startswith(f"已登录：{user}（"):
            return
        page.get_by_role("button", name="退出登录").click()
        name.wait_for()
    name.fill(user)
    page.get_by_label("密码", exact=True).fill(password)
    page.get_by_role("button", name="登录").click()
    settle(page)
