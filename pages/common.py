"""What every page shares: the cached engine, the signed-in reviewer, and the sidebar filters.

Not a page itself (app.py lists the pages explicitly). Resources cached with ``st.cache_resource`` are shared
by all sessions, so only thread-safe objects go there: the Engine (its pool is thread-safe) — never a Session.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any, TypeVar

import streamlit as st
from sqlalchemy import Engine

from qa.dashboard import default_period
from qa.db import get_engine
from qa.filters import Filters, day_range, dimension_values
from qa.stats import data_version
from qa.users import get_or_create_user, list_users

__all__ = ["engine", "current_user", "session_filters", "set_filters", "open_replay", "data_version_now",
           "cached_query", "filter_sidebar", "open_queue"]

T = TypeVar("T")

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


@st.cache_data(ttl=2, show_spinner=False)
def data_version_now() -> str:
    """The archive's data version, re-read at most every two seconds rather than once per query on a page."""
    with engine().connect() as conn:
        return data_version(conn)


@st.cache_data(show_spinner=False, max_entries=2000)
def _cached_call(module: str, name: str, version: str, args: tuple, kwargs: tuple) -> Any:
    fn = getattr(importlib.import_module(module), name)
    with engine().connect() as conn:
        return fn(conn, *args, **dict(kwargs))


def cached_query(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``fn(conn, *args, **kwargs)`` for a module-level qa query, cached per arguments and data version.

    Arguments must be hashable values (Filters, dates, strings); results must pickle (DataFrames, dataclasses).
    """
    return _cached_call(fn.__module__, fn.__qualname__, data_version_now(), args, tuple(sorted(kwargs.items())))


_SIDEBAR_DIMENSIONS = (("platform", "platforms", "平台"), ("shop", "shops", "店铺"), ("team", "teams", "组"),
                       ("category", "categories", "分类"))
_SIDEBAR_SHOWN_KEY = "_filter_sidebar_shown"


def _sync_filter_widgets(f: Filters, bounds: tuple | None) -> None:
    """Put ``f`` into the sidebar widgets' state (widgets forget their state on pages that do not show them)."""
    if bounds and f.start and f.end:
        lo, hi = bounds
        st.session_state["flt_dates"] = (min(max(f.start, lo), hi), min(max(f.end, lo), hi))
    for dim, field, _label in _SIDEBAR_DIMENSIONS:
        st.session_state[f"flt_{dim}"] = list(getattr(f, field))


def filter_sidebar() -> Filters:
    """Date range and platform/shop/team/category pickers in the sidebar; the choice is shared by every page.

    Starts from ``session_filters()`` — so a drill-down or another page's choice shows here — and stores the
    result with ``set_filters()``. With no dates chosen yet, the last eight weeks of the archive are shown.
    """
    f = session_filters()
    bounds = cached_query(day_range)
    if bounds and f.start is None and f.end is None:
        period = default_period(*bounds)
        f = f.with_(start=period.start, end=period.end)
    if st.session_state.get(_SIDEBAR_SHOWN_KEY) != f or "flt_dates" not in st.session_state:
        _sync_filter_widgets(f, bounds)
    with st.sidebar:
        st.subheader("筛选")
        dates = st.date_input("日期范围", key="flt_dates", min_value=bounds[0] if bounds else None,
                              max_value=bounds[1] if bounds else None, format="YYYY-MM-DD")
        picks = {}
        for dim, field, label in _SIDEBAR_DIMENSIONS:
            options = sorted(set(cached_query(dimension_values, dim)) | set(getattr(f, field)))
            picks[field] = tuple(st.multiselect(label, options, key=f"flt_{dim}", placeholder="全部"))
    start, end = (tuple(dates) + (None, None))[:2] if isinstance(dates, (tuple, list)) else (dates, dates)
    chosen = f.with_(start=start, end=end or start, **picks)
    set_filters(chosen)
    st.session_state[_SIDEBAR_SHOWN_KEY] = chosen
    return chosen


def open_queue(filters: Filters) -> None:
    """Show the review queue narrowed to ``filters``: the conversations behind a chart point or a table row."""
    set_filters(filters)
    st.switch_page("pages/queue.py")
