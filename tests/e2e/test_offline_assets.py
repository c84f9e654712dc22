"""Everything a page loads comes from the app itself: nothing is fetched from another host (issue #13.14: the
favicon came from a font host, failing offline and telling that host who opened the app)."""

from __future__ import annotations

from urllib.parse import urlparse

import pytest

from tests.e2e.conftest import no_exception, settle, sign_in

pytestmark = pytest.mark.e2e

PAGES = ["", "agents", "queue", "replay", "coaching", "data", "models"]


def test_no_page_fetches_anything_from_another_host(page, app_url) -> None:  # type: ignore[no-untyped-def]
    app_host = urlparse(app_url).hostname
    elsewhere: list[str] = []
    page.on("request", lambda request: elsewhere.append(request.url)
            if urlparse(request.url).hostname not in (app_host, None) and not request.url.startswith("data:")
            else None)
    for path in PAGES:
        page.goto(f"{app_url}/{path}")
        settle(page)
        sign_in(page)
        no_exception(page)
    icons = [link.get_attribute("href") or "" for link in page.locator('link[rel~="icon"]').all()]
    assert elsewhere == []
    assert icons and all(urlparse(icon).hostname in (app_host, None) for icon in icons)
