"""Steps the end-to-end paths share: a person signing in in a browser context of their own, rating a criterion,
picking from a multiselect, going to another page in the same session.

Every step waits for what it changed to show (Playwright's ``expect``), never for a fixed time, so the paths hold
on a loaded CI machine.
"""

from __future__ import annotations

import re
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
    # a click while the previous click's rerun is still drawing can be overwritten by it: wait for quiet first, and
    # click again if the redraw took the choice back (seen on a loaded CI machine)
    for _ in range(3):
        settle(area.page)
        if choice.get_attribute("aria-checked") == "true":
            break
        choice.click()
        settle(area.page)
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


def choose(page: Any, area: Any, label: str, option: str) -> None:
    """Choose ``option`` in the selectbox labelled ``label`` and wait until it shows."""
    from playwright.sync_api import expect

    box = area.get_by_role("combobox", name=label, exact=True)
    box.click()
    box.fill(option)  # typing filters the options and keeps the menu open
    page.get_by_role("option", name=option, exact=True).click()
    expect(box).to_have_value(option, timeout=SLOW)
    settle(page)


def fill(page: Any, area: Any, label: str, text: str) -> None:
    """Type ``text`` into the text box labelled ``label`` and commit it (Enter reruns the script)."""
    box = area.get_by_role("textbox", name=label, exact=True)
    box.fill(text)
    box.press("Enter")
    settle(page)


def dispute(area: Any, external_id: str, reason: str) -> None:
    """An agent on 申诉 disputes the review shown, giving ``reason``."""
    from playwright.sync_api import expect

    expect(area.get_by_label("申诉理由")).to_be_visible(timeout=SLOW)
    area.get_by_label("申诉理由").fill(reason)
    area.get_by_role("button", name="提出申诉").click()
    expect(area.get_by_text(f"已对会话 {external_id} 的评审提出申诉，等待质检主管处理")).to_be_visible(timeout=SLOW)


def resolve(page: Any, area: Any, reason: str, comment: str, decision: str,
            ratings: dict[str, str] | None = None) -> None:
    """A QA manager on 申诉 opens the dispute with ``reason``, rates anew (``ratings``: criterion → answer), writes
    ``comment`` and clicks ``decision`` ("维持原判" or "按上面的评分改分")."""
    from playwright.sync_api import expect

    area.get_by_role("tab", name="待处理申诉").click()
    expect(area.get_by_text(f"申诉理由：{reason}")).to_be_visible(timeout=SLOW)
    for criterion, answer in (ratings or {}).items():
        rate(area, criterion, answer)
    fill(page, area, "处理意见", comment)
    area.get_by_role("button", name=decision).click()
    expect(area.get_by_text(re.compile("申诉已处理"))).to_be_visible(timeout=SLOW)
