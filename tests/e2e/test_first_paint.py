"""The first page a fresh server serves lists the app's pages from its first paint.

Streamlit runs the first session's first script run the pages/-folder way (every file in pages/, common.py
too, under its file name) until app.py calls st.navigation; app.py calls it before its slow imports so that
list is never shown. Its own module, so that `app_url` starts a server that has served nothing else.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import no_exception, settle

pytestmark = pytest.mark.e2e

_RECORD_NAV = """
window.__navSeen = [];
new MutationObserver(() => {
  const nav = document.querySelector('[data-testid="stSidebarNav"]');
  if (nav) window.__navSeen.push(nav.innerText);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def test_the_first_paint_of_a_fresh_server_shows_only_the_apps_pages(page, app_url):
    page.add_init_script(_RECORD_NAV)
    page.goto(app_url)
    settle(page)
    page.get_by_role("heading", name="总览").wait_for()
    seen = page.evaluate("window.__navSeen")
    assert seen, "the sidebar navigation was never shown"
    assert not [s for s in seen if "common" in s or "overview" in s], seen[:3]
    assert "质检队列" in seen[-1]
    no_exception(page)
