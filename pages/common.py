"""What every page shares: the cached engine, the signed-in reviewer, and the sidebar filters.

Not a page itself (app.py lists the pages explicitly). Resources cached with ``st.cache_resource`` are shared
by all sessions, so only thread-safe objects go there: the Engine (its pool is thread-safe) — never a Session.
"""

from __future__ import annotations

import streamlit as st
from sqlalchemy import Engine

from qa.db import get_engine
from qa.filters import Filters
from qa.users import get_or_create_user, list_users

__all__ = ["engine", "current_user", "session_filters", "set_filters", "open_replay"]

FILTERS_KEY = "filters"
REPLAY_KEY = "replay_conversation_id"


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    """The process-wide engine (DATABASE_URL or the embedded SQLite file), migrated once."""
    return get_engine()


def current_user() -> tuple[int, str] | None:
    """The reviewer signing annotations, chosen in the sidebar; None until someone picks a name."""
    users = list_users(engine())
    names = [name for _id, name, _role in users]
    with st.sidebar:
        choice = st.selectbox("当前用户", names + ["＋ 新用户…"], key="current_user_name",
                              index=0 if names else None, placeholder="选择你的名字")
        if choice == "＋ 新用户…" or (choice is None and not names):
            new = st.text_input("你的名字", key="new_user_name")
            if new.strip():
                uid = get_or_create_user(engine(), new)
                return uid, new.strip()
            return None
    if choice is None:
        return None
    uid = next(i for i, name, _role in users if name == choice)
    return uid, choice


def session_filters() -> Filters:
    """The filters this user last chose (kept across pages so drill-downs carry them)."""
    return st.session_state.get(FILTERS_KEY, Filters())


def set_filters(filters: Filters) -> None:
    st.session_state[FILTERS_KEY] = filters


def open_replay(conversation_id: int) -> None:
    """Go to the replay page showing ``conversation_id``."""
    st.session_state[REPLAY_KEY] = conversation_id
    st.switch_page("pages/replay.py")
