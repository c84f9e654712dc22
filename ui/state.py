"""What a user's session remembers across pages: filters, the replay target, the queue being worked, messages.

Widgets forget their state on pages that do not show them, so anything that must follow the user from page to
page is kept under its own key in ``st.session_state`` here.
"""

from __future__ import annotations

from typing import Any

import streamlit as st

from qa.access import allowed
from qa.analytics.filters import Filters
from ui.text import plain
from ui.user import current_principal

__all__ = ["session_filters", "set_filters", "open_replay", "open_queue", "open_new_calibration", "REPLAY_KEY",
           "CALIBRATION_TAB_KEY", "remember_queue", "remembered_queue", "flash", "show_flash"]

FILTERS_KEY = "filters"
REPLAY_KEY = "replay_conversation_id"


def session_filters() -> Filters:
    """The filters this user last chose (kept across pages so drill-downs carry them)."""
    return st.session_state.get(FILTERS_KEY, Filters())


def set_filters(filters: Filters) -> None:
    st.session_state[FILTERS_KEY] = filters


def _may_open_conversations() -> bool:
    """Executives see aggregates only: a drill-down to single conversations says so instead of opening them."""
    if allowed(current_principal(), "view_conversations"):
        return True
    st.info("管理层账号只查看汇总数据，不打开单条会话；需要时请质检主管协助。")
    return False


def open_replay(conversation_id: int) -> None:
    """Go to the replay page showing ``conversation_id``."""
    if not _may_open_conversations():
        return
    st.session_state[REPLAY_KEY] = conversation_id
    st.switch_page("pages/replay.py")


def open_queue(filters: Filters) -> None:
    """Show the review queue narrowed to ``filters``: the conversations behind a chart point or a table row."""
    if not _may_open_conversations():
        return
    set_filters(filters)
    st.switch_page("pages/queue.py")


CALIBRATION_TAB_KEY = "_calibration_tab"


def open_new_calibration(filters: Filters) -> None:
    """Go to 校准's 新建校准会 tab, its conversations chosen from those matching ``filters`` (the queue's)."""
    set_filters(filters)
    st.session_state[CALIBRATION_TAB_KEY] = "新建校准会"
    st.switch_page("pages/calibration.py")


QUEUE_KEY = "queue_cursor"


def remember_queue(cursor: Any) -> None:
    """Keep the queue the user is working through (query, page, ids), so replay can step to previous/next."""
    st.session_state[QUEUE_KEY] = cursor


def remembered_queue() -> Any:
    """The queue remembered by ``remember_queue``, or None when replay was opened from elsewhere."""
    return st.session_state.get(QUEUE_KEY)


FLASH_KEY = "_flash"


def flash(text: str, kind: str = "success") -> None:
    """Queue a message for the next run (writes happen in callbacks or right before ``st.rerun()``)."""
    st.session_state.setdefault(FLASH_KEY, []).append((kind, text))


def show_flash() -> None:
    """Show and forget the messages queued by ``flash``."""
    for kind, text in st.session_state.pop(FLASH_KEY, []):  # they quote names people typed: shown as text
        {"success": st.success, "error": st.error, "warning": st.warning}.get(kind, st.info)(plain(text))
