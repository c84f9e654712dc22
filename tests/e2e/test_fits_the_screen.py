"""Pages at 1440×900 as a reviewer sees them: the queue's table fits the page without scrolling sideways, and the
data page's uploader says everything in Chinese (issue #13)."""

from __future__ import annotations

import re

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


@pytest.mark.parametrize("path", ["queue", "data"])  # the queue; the data page's imports and audit trail
def test_the_tables_fit_the_page(screen, path):  # type: ignore[no-untyped-def]
    page = screen(path)
    page.locator('[data-testid="stDataFrame"] .dvn-scroller').first.wait_for()
    page.wait_for_function(  # the grid lays its columns out after it is attached
        "() => document.querySelector('[data-testid=\"stDataFrame\"] .dvn-scroller').scrollWidth > 200")
    widths = page.evaluate("""() => [...document.querySelectorAll('[data-testid="stDataFrame"] .dvn-scroller')]
                                    .filter(e => e.clientWidth > 0).map(e => [e.scrollWidth, e.clientWidth])""")
    assert widths and all(scroll <= client for scroll, client in widths), widths


def test_the_uploader_speaks_chinese(screen):  # type: ignore[no-untyped-def]
    page = screen("data")
    zone = page.locator('[data-testid="stFileUploaderDropzone"]')
    zone.wait_for()
    # what a reader sees: the text drawn (the icon's ligature aside) and the Chinese the style sheet draws instead
    shown = zone.evaluate("""z => {
        const icon = z.querySelector('[data-testid="stIconMaterial"]');
        const drawn = [...z.querySelectorAll('span, p')].flatMap(e => ['::before', '::after'].map(
            p => getComputedStyle(e, p).content)).filter(c => c && c !== 'none' && c !== 'normal');
        return {text: z.innerText.replace(icon ? icon.innerText : '', ''), drawn: drawn.join(' ')};
    }""")
    assert not re.search(r"drag|drop|upload|browse|limit|per file|\\dGB", shown["text"], re.IGNORECASE), shown
    assert all(words in shown["drawn"] for words in ("拖放文件到这里", "每个文件不超过 512 MB", "选择文件")), shown
