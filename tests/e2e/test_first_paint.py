"""The first page a fresh server serves shows the app's own navigation at once.

Streamlit runs the first session's first script run the pages/-folder way: its sidebar lists every file in
pages/ until app.py calls st.navigation. app.py calls it before its slow
imports, so that list is gone within a frame instead of staying up for the seconds those imports take.
Its own module, so that `app_url` starts a server that has served nothing else.
"""

from __future__ import annotations

import pytest

from tests.e2e.conftest import no_exception, settle, sign_in

pytestmark = pytest.mark.e2e

_RECORD_NAV = """
window.__navSeen = [];
new MutationObserver(() => {
  const nav = document.querySelector('[data-testid="stSidebarNav"]');
  if (nav) window.__navSeen.push([performance.now(), nav.innerText]);
}).observe(document, {subtree: true, childList: true, characterData: true});
"""


def test_the_pages_folder_list_of_a_fresh_server_is_gone_at_once(page, app_url):
    page.add_init_script(_RECORD_NAV)
    page.goto(app_url)
    settle(page)
    sign_in(page)
    page.get_by_role("heading", name="总览").wait_for()
    seen = page.evaluate("window.__navSeen")
    assert seen and "质检队列" in seen[-1][1], "the app's navigation was never shown"
    folder = [t for t, text in seen if "common" in text]
    if folder:  # shown for a frame or so at most: the app's own list follows in the same script run
        replaced = next(t for t, text in seen if t > folder[0] and "common" not in text)
        assert replaced - folder[0] < 300, f"the pages/ folder list stayed up {replaced - folder[0]:.0f} ms"
    no_exception(page)
