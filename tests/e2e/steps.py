"""Steps the end-to-end paths share: a person signing in in a browser context of their own, rating a criterion,
picking from a multiselect, going to another page in the same session.

Every step waits for what it changed to show (Playwright's ``expect``), never for a fixed time, so the paths hold
on a loaded CI machine.
"""

from __future__ import annotations

from typing import Any

from tests.e2e.conftest import settle, sign_in

SLOW = 60_000  # ms: the first run of a page in a fresh server imports pandas, altair and the models


def open_as(browser: Any, app_url: str, path: str, user: str, password: str) -> tuple[Any, Any]:
    """A new browser context (its own Streamlit session) at ``path``, signed in as ``user``: (page, its main area)."""
    page = browser.new_context(viewport={"width": 1440, "height": 1000}, locale="zh-CN").new_page()
    page.set_default_timeout(30_000)
    page.goto(f"{app_url}/{path}")
    settle(page)
    sign_in(page, user, password)
    return page, page.locator('[data-testid="stMain"]')


def go_to(page: Any, title: str) -> None:
    """Follow the sidebar's navigation link to the page called ``title`` (same session, still signed in)."""
    page.locator('[data-testid="stSidebarNav"]').get_by_role("link", name=title, exact=True).click()
    settle(page)


def rate(area: Any, criterion: str, answer: str) -> None:
    """Choose ``answer`` ("是", "4 分", "0 次") for the criterion labelled ``criterion`` and wait until it shows."""
    from playwright.sync_api import expect

    choice = area.get_by_role("radiogroup", name=criterion).get_by_role("radio", name=answer, exact=True)
    choice.click()
    expect(choice).to_have_attribute("aria-checked", "true", timeout=SLOW)


def pick(page: Any, area: Any, label: str, values: list[str]) -> None:
    """Choose ``values`` in the multiselect labelled ``label``, typing each and taking the matching option."""
    from playwright.sync_api import expect

    box = area.get_by_role("combobox", name=label)
    for value in values:
        box.click()
        box.fill(value)
        page.get_by_role("option", name=value, exact=True).click()
        expect(area.get_by_text(value, exact=True).first).to_be_visible()
    box.press("Escape")
