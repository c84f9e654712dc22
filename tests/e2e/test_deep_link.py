"""A shared replay link as the very first request of a fresh server opens inside the app's frame.

Its own module, so that `app_url` starts a server that has served nothing else.
"""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import no_exception, settle, sign_in

pytestmark = pytest.mark.e2e


def test_first_request_deep_link_keeps_navigation_and_conversation(page, app_url):
    page.goto(f"{app_url}/replay?c=tm-3")
    settle(page)
    sign_in(page)  # the link is kept while signing in
    page.get_by_role("heading", name=re.compile(r"会话 tm-3")).wait_for()
    nav = page.locator('[data-testid="stSidebarNav"]')
    nav.get_by_text("质检队列").wait_for()
    assert nav.get_by_text("common", exact=True).count() == 0
    assert "c=tm-3" in page.url
    no_exception(page)
