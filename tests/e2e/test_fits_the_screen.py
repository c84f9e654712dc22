"""Pages at 1440×900 as a reviewer sees them: the queue's table fits the page without scrolling sideways, and the
data page's uploader says everything in Chinese (issue #13)."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import no_exception, settle, sign_in

pytestmark = pytest.mark.e2e


@pytest.fixture
def screen(browser, app_url):  # type: ignore[no-untyped-def]
    """A signed-in page at 1440×900, opened at the path given to it."""
    context = browser.new_context(viewport={"width": 1440, "height": 900}, locale="zh-CN")
    page = context.new_page()
    page.set_default_timeout(30_000)

    def open_at(path: str):  # type: ignore[no-untyped-def]
        page.goto(f"{app_url}/{path}")
        settle(page)
        sign_in(page)
        no_exception(page)
        return page

    yield open_at
    context.close()


def test_the_queue_table_fits_the_page(screen):  # type: ignore[no-untyped-def]
    page = screen("queue")
    grid = page.locator('[data-testid="stDataFrame"] .dvn-scroller').first
    grid.wait_for()
    page.wait_for_function(  # the grid lays its columns out after it is attached
        "() => document.querySelector('[data-testid=\"stDataFrame\"] .dvn-scroller').scrollWidth > 200")
    scroll_width, client_width = grid.evaluate("e => [e.scrollWidth, e.clientWidth]")
    assert scroll_width <= client_width, (scroll_width, client_width)
