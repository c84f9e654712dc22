"""The signed-in reviewer, picked (or created) in the sidebar and kept across pages."""

from __future__ import annotations

import streamlit as st

from qa.review.users import get_or_create_user, list_users
from ui.cache import engine, read

__all__ = ["current_user", "SIGNED_IN_KEY"]

SIGNED_IN_KEY = "signed_in_user"
NEW_USER_KEY = "_new_user_name"


def current_user() -> tuple[int, str] | None:
    """The reviewer signing annotations, chosen in the sidebar; None until someone picks a name."""
    users = read(list_users)
    names = [name for _id, name, _role in users]
    options = names + ["＋ 新用户…"]
    # A widget's state does not follow the user to another page (nor survive a page without the picker):
    # hand the name on explicitly, kept under SIGNED_IN_KEY too.
    kept = st.session_state.pop(NEW_USER_KEY, None) or st.session_state.get(
        "current_user_name", st.session_state.get(SIGNED_IN_KEY))
    if kept in options:
        st.session_state["current_user_name"] = kept
    with st.sidebar:
        choice = st.selectbox("当前用户", options, key="current_user_name", placeholder="选择你的名字",
                              index=0 if names and kept not in options else None)
        st.session_state[SIGNED_IN_KEY] = choice
        if choice == "＋ 新用户…" or (choice is None and not names):
            new = st.text_input("你的名字", key="new_user_name")
            if new.strip():  # select the new name in the picker from the next run on
                get_or_create_user(engine(), new)
                st.session_state[NEW_USER_KEY] = new.strip()[:100]
                st.rerun()
            return None
    if choice is None:
        return None
    uid = next(i for i, name, _role in users if name == choice)
    return uid, choice
