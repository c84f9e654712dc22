"""What every page shares: the cached engine, the signed-in reviewer, and the sidebar filters.

Not a page itself (app.py lists the pages explicitly). Resources cached with ``st.cache_resource`` are shared
by all sessions, so only thread-safe objects go there: the Engine (its pool is thread-safe) — never a Session.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

import altair as alt
import pandas as pd
import streamlit as st
from sqlalchemy import Engine

from qa.analytics.dashboard import METRICS, default_period
from qa.analytics.filters import Filters, day_range, dimension_values
from qa.analytics.stats import data_version
from qa.db import get_engine
from qa.review.annotations import review_version
from qa.review.users import get_or_create_user, list_users

__all__ = ["engine", "current_user", "session_filters", "set_filters", "open_replay", "data_version_now",
           "cached_query", "cached_query_with_reviews", "filter_sidebar", "open_queue", "axis_format",
           "trend_chart", "selected", "review_filter_sidebar", "cached_review_query", "remember_queue",
           "remembered_queue", "flash", "show_flash", "int_text"]

T = TypeVar("T")

FILTERS_KEY = "filters"
REPLAY_KEY = "replay_conversation_id"
SIGNED_IN_KEY = "signed_in_user"


@st.cache_resource(show_spinner=False)
def engine() -> Engine:
    """The process-wide engine (DATABASE_URL or the embedded SQLite file), migrated once."""
    return get_engine()


NEW_USER_KEY = "_new_user_name"


def current_user() -> tuple[int, str] | None:
    """The reviewer signing annotations, chosen in the sidebar; None until someone picks a name."""
    users = list_users(engine())
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


def cached_query_with_reviews(fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """``cached_query`` for figures built on annotations too: also keyed by the review version."""
    version = f"{data_version_now()}|{review_version(engine())}"
    return _cached_call(fn.__module__, fn.__qualname__, version, args, tuple(sorted(kwargs.items())))


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


def axis_format(metric: str) -> str:
    """The d3 format of a metric's axis and tooltip (shares as percentages)."""
    kind = METRICS[metric].kind if metric in METRICS else "count"
    return {"pct": ".0%", "score": ".2f", "seconds": ".0f"}.get(kind, ",.0f")


def trend_chart(df: pd.DataFrame, metric: str, title: str, peaks: pd.DataFrame | None = None,
                series: str | None = None, area: bool = False, weekly: bool = False) -> alt.LayerChart:
    """A line over ``df['period']`` with clickable points (selection "pick" on period) and festival rules.

    ``df`` has one row per period (and ``series`` value) with its ``start`` and ``end`` day; clicking a point
    selects its period. With ``series``, the first series (e.g. the agent) is drawn strong, the others grey.
    """
    data = df.assign(x=pd.to_datetime(df["period"]),
                     span=[f"{a}" if a == b else f"{a} 至 {b}" for a, b in zip(df["start"], df["end"])])
    pick = alt.selection_point(name="pick", fields=["period"], on="click")
    fmt = axis_format(metric)
    color: Any = alt.value("#1f77b4")
    if series:
        order = list(dict.fromkeys(df[series]))
        color = alt.Color(f"{series}:N", title=None, legend=alt.Legend(orient="top"),
                          scale=alt.Scale(domain=order, range=["#1f77b4"] + ["#a0a7b4"] * (len(order) - 1)))
    ticks = alt.Undefined
    if weekly:  # one tick per Monday-started bucket (Vega's own week ticks fall on Sundays)
        ticks = [alt.DateTime(year=d.year, month=d.month, date=d.day) for d in sorted(set(data["x"]))]
    base = alt.Chart(data).encode(
        x=alt.X("x:T", title=None, axis=alt.Axis(format="%m-%d", values=ticks, labelOverlap=True)),
        y=alt.Y(f"{metric}:Q", title=None, axis=alt.Axis(format=fmt),
                scale=alt.Scale(zero=metric not in METRICS or METRICS[metric].kind != "score")),
        color=color,
    )
    tooltip = [alt.Tooltip("span:N", title="日期"), alt.Tooltip(f"{metric}:Q", title=title, format=fmt),
               alt.Tooltip("conversations:Q", title="会话", format=",.0f")]
    if series:
        tooltip.insert(0, alt.Tooltip(f"{series}:N", title=""))
    layers = [base.mark_line(),
              base.mark_point(filled=True, size=60, cursor="pointer").encode(tooltip=tooltip).add_params(pick)]
    if area:
        layers.insert(0, base.mark_area(opacity=0.15))
    if peaks is not None and not peaks.empty:
        marks = alt.Chart(peaks.assign(x=pd.to_datetime(peaks["day"])))
        layers.append(marks.mark_rule(color="#d62728", strokeDash=[4, 4]).encode(x="x:T"))
        layers.append(marks.mark_text(color="#d62728", align="left", dx=4, dy=-4, baseline="top")
                      .encode(x="x:T", y=alt.value(0), text="label:N"))
    return alt.layer(*layers).properties(title=title, height=220)


def selected(event: Any, param: str = "pick") -> dict | None:
    """The first selected datum of a chart's selection ``param`` (from ``st.altair_chart(on_select=...)``)."""
    points = (event or {}).get("selection", {}).get(param) or []
    return points[0] if points else None


_REVIEWED_CHOICES = {"全部": None, "未复核": False, "已复核": True}
_CSAT_CHOICES = {"不限": None, "≤ 1": 1, "≤ 2": 2, "≤ 3": 3, "≤ 4": 4}
_REVIEW_SHOWN_KEY = "_review_sidebar_shown"


def _review_widget_values(f: Filters) -> dict[str, Any]:
    """The review sidebar's widget values (by widget key) that show ``f``."""
    return {
        "flt_agents": list(f.agents),
        "flt_risk": (f.min_risk or 0.0, 1.0 if f.max_risk is None else f.max_risk),
        "flt_tone": f.min_tone_risk or 0.0,
        "flt_relevance": 1.0 if f.max_relevance is None else f.max_relevance,
        "flt_first_response": int(f.min_first_response_s or 0),
        "flt_csat": next((k for k, v in _CSAT_CHOICES.items() if v == f.csat_max), "不限"),
        "flt_reviewed": next(k for k, v in _REVIEWED_CHOICES.items() if v == f.reviewed),
        "flt_text": f.text,
    }


def _clear_filters() -> None:
    set_filters(Filters())


def review_filter_sidebar() -> Filters:
    """``filter_sidebar`` plus agent, score-range, CSAT, reviewed and conversation-id pickers, and "清除".

    A drill-down's Filters (e.g. min_risk from an overview cell) show up in these widgets too.
    """
    f = filter_sidebar()
    wanted = _review_widget_values(f)
    shown = st.session_state.get(_REVIEW_SHOWN_KEY)
    external = shown is None or _review_widget_values(shown) != wanted
    for key, value in wanted.items():
        if external or key not in st.session_state:
            st.session_state[key] = value
    with st.sidebar:
        options = sorted(set(cached_query(dimension_values, "agent")) | set(f.agents))
        agents = tuple(st.multiselect("坐席", options, key="flt_agents", placeholder="全部"))
        lo, hi = st.slider("预测不满风险", 0.0, 1.0, step=0.05, key="flt_risk")
        tone = st.slider("语气风险 ≥", 0.0, 1.0, step=0.05, key="flt_tone")
        relevance = st.slider("相关度 ≤", 0.0, 1.0, step=0.05, key="flt_relevance")
        first = st.number_input("首次响应 ≥（秒）", min_value=0, step=30, key="flt_first_response")
        csat = _CSAT_CHOICES[st.selectbox("CSAT", list(_CSAT_CHOICES), key="flt_csat")]
        reviewed = _REVIEWED_CHOICES[st.selectbox("复核状态", list(_REVIEWED_CHOICES), key="flt_reviewed")]
        text = st.text_input("会话号", key="flt_text", placeholder="精确匹配外部会话号")
    chosen = f.with_(agents=agents, min_risk=lo or None, max_risk=hi if hi < 1.0 else None,
                     min_tone_risk=tone or None, max_relevance=relevance if relevance < 1.0 else None,
                     min_first_response_s=float(first) if first else None, csat_max=csat, reviewed=reviewed,
                     text=text.strip())
    set_filters(chosen)
    st.session_state[_SIDEBAR_SHOWN_KEY] = chosen  # so filter_sidebar does not take this run's choice as external
    st.session_state[_REVIEW_SHOWN_KEY] = chosen
    with st.sidebar:
        st.caption(f"当前筛选：{chosen.describe()}")
        st.button("清除筛选", key="flt_clear", on_click=_clear_filters)
    return chosen


def cached_review_query(fn: Callable[..., T], *args: Any) -> T:
    """``fn(engine, *args)`` for a module-level qa read that also depends on annotations and assignments.

    Keyed by the data version and the review version, so a saved annotation or a new assignment shows at once.
    """
    return _cached_review_call(fn.__module__, fn.__qualname__, data_version_now(), review_version(engine()), args)


@st.cache_data(show_spinner=False, max_entries=500)
def _cached_review_call(module: str, name: str, version: str, reviews: str, args: tuple) -> Any:
    return getattr(importlib.import_module(module), name)(engine(), *args)


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
    for kind, text in st.session_state.pop(FLASH_KEY, []):
        {"success": st.success, "error": st.error, "warning": st.warning}.get(kind, st.info)(text)


def int_text(values: Any) -> list[str]:
    """Whole numbers as text, blank where missing: st.dataframe would print "None" in the cell."""
    return ["" if pd.isna(v) else f"{v:.0f}" for v in values]


# -- the app's frame ----------------------------------------------------------------------------------------------
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
