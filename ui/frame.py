"""The app's frame: every session enters through app.py's navigation, even one that starts on a page URL."""

from __future__ import annotations

from pathlib import Path

import streamlit as st

__all__ = ["enter_frame", "require_frame", "follow_deep_link"]

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


def follow_deep_link() -> None:
    """In app.py, after st.navigation: continue to the page a frameless first run was asked for."""
    target = st.session_state.pop(DEEP_LINK_KEY, None)
    if target:
        st.switch_page(target[0], query_params=target[1])
