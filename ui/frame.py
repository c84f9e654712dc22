"""The app's frame: every session enters through app.py's navigation, even one that starts on a page URL."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import streamlit as st

__all__ = ["enter_frame", "require_frame", "follow_deep_link", "remember_requested_page"]

# Streamlit treats a top-level pages/ folder as an old-style multipage app until some script has called
# st.navigation: the first request of a fresh server to a page URL (a shared /replay?c=… link) runs that page
# alone, without app.py's navigation, layout and page names. A session whose first run skipped app.py goes
# through app.py to the same page, with the same query parameters; once app.py has run, Streamlit keeps the frame.
FRAMED_KEY = "_framed"
DEEP_LINK_KEY = "_deep_link"


def enter_frame() -> None:
    """In app.py, before running the page: this session has been through the frame."""
    st.session_state[FRAMED_KEY] = True


def require_frame(page_file: str) -> None:
    """Call first in every page: re-enter through app.py when a session starts on this page without it."""
    if st.session_state.get(FRAMED_KEY):
        return
    st.session_state[DEEP_LINK_KEY] = (f"pages/{Path(page_file).name}", st.query_params.to_dict())
    st.switch_page("app.py")


def follow_deep_link(offered: set[str] | None = None) -> None:
    """In app.py, after st.navigation: continue to the page a frameless first run (or a visit before signing in)
    was asked for, when it is among the ``offered`` page files."""
    target = st.session_state.pop(DEEP_LINK_KEY, None)
    if target and (offered is None or target[0] in offered):
        st.switch_page(target[0], query_params=target[1])


def remember_requested_page(known: set[str]) -> None:
    """Before signing in: keep the page and query a shared link asked for (``/replay?c=…``), to open it after."""
    if DEEP_LINK_KEY in st.session_state:
        return
    path = urlparse(st.context.url or "").path.strip("/").rsplit("/", 1)[-1]
    page = f"pages/{path}.py"
    if page in known:
        st.session_state[DEEP_LINK_KEY] = (page, st.query_params.to_dict())
