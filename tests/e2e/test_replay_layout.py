"""The replay on a 1440×900 screen, opened from a shared link: the chat starts above the fold, with the queue's reason,
and a note saved on a message stays under it."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import no_exception, settle, sign_in

pytestmark = pytest.mark.e2e


def test_chat_above_the_fold_on_a_shared_link(browser, app_url):  # type: ignore[no-untyped-def]
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)
    try:
        page.goto(f"{app_url}/replay?c=tm-4")
        settle(page)
        sign_in(page)  # the link is kept while signing in
        main = page.locator('[data-testid="stMain"]')
        main.get_by_role("heading", name=re.compile(r"会话 tm-4")).wait_for()
        no_exception(page)
        first = main.get_by_text("#1 · ", exact=False).first
        first.wait_for()
        box = first.bounding_box()
        assert box is not None and box["y"] + box["height"] < 900, box
        assert page.evaluate("window.scrollY") == 0
        main.get_by_text("入队原因：").first.wait_for()

        # A note saved on a later message stays under it, and the chat still shows every message (it once went
        # back to message 1 on a replay opened by a shared link before signing in).
        from playwright.sync_api import expect

        main.get_by_role("button", name=re.compile("批注")).nth(2).click()  # beside message #3
        form = page.locator('[data-testid="stPopoverBody"]')
        form.get_by_label("批注", exact=True).fill("第三条的批注")
        form.get_by_role("button", name="保存", exact=True).click()
        expect(main.get_by_text(re.compile(r"^批注 · .*：第三条的批注$"))).to_be_visible(timeout=30_000)
        expect(main.get_by_text("#4 · ", exact=False).first).to_be_visible()
        no_exception(page)
    finally:
        context.close()
