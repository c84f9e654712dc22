"""The sidebar filters: date range and dimensions on every analytics page, plus agents, score ranges, CSAT and
review state on the review pages. The choice is one ``Filters`` shared by every page (``ui.state``)."""

from __future__ import annotations

from typing import Any

import streamlit as st

from qa.analytics.dashboard import Period, date_presets, default_period
from qa.analytics.filters import Filters, day_range, dimension_values
from qa.program.tag_store import current_tree, tag_filter
from ui.cache import cached, read
from ui.state import session_filters, set_filters
from ui.text import plain

__all__ = ["filter_sidebar", "review_filter_sidebar"]

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


def _apply_preset(presets: dict[str, Period]) -> None:
    """A quick range chosen: it becomes the date range (the pill itself is only a shortcut, cleared again)."""
    chosen = st.session_state.get("flt_preset")
    if chosen in presets:
        period = presets[chosen]
        st.session_state["flt_dates"] = (period.start, period.end)
    st.session_state["flt_preset"] = None


def filter_sidebar() -> Filters:
    """Date range and platform/shop/team/category pickers in the sidebar; the choice is shared by every page.

    Starts from ``session_filters()`` — so a drill-down or another page's choice shows here — and stores the
    result with ``set_filters()``. With no dates chosen yet, the last eight weeks of the archive are shown.
    """
    f = session_filters()
    bounds = cached(day_range)
    if bounds and f.start is None and f.end is None:
        period = default_period(*bounds)
        f = f.with_(start=period.start, end=period.end)
    if st.session_state.get(_SIDEBAR_SHOWN_KEY) != f or "flt_dates" not in st.session_state:
        _sync_filter_widgets(f, bounds)
    with st.sidebar:
        st.subheader("筛选")
        if bounds:
            presets = date_presets(*bounds)
            st.pills("快捷日期", list(presets), key="flt_preset", on_change=_apply_preset, args=(presets,))
        dates = st.date_input("日期范围", key="flt_dates", min_value=bounds[0] if bounds else None,
                              max_value=bounds[1] if bounds else None, format="YYYY-MM-DD")
        picks = {}
        for dim, field, label in _SIDEBAR_DIMENSIONS:
            options = sorted(set(cached(dimension_values, dim)) | set(getattr(f, field)))
            picks[field] = tuple(st.multiselect(label, options, key=f"flt_{dim}", placeholder="全部"))
    start, end = (tuple(dates) + (None, None))[:2] if isinstance(dates, (tuple, list)) else (dates, dates)
    chosen = f.with_(start=start, end=end or start, **picks)
    set_filters(chosen)
    st.session_state[_SIDEBAR_SHOWN_KEY] = chosen
    return chosen


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
        "flt_tags": [path for path, _ids in f.tags],
    }


def _clear_filters() -> None:
    set_filters(Filters())


def review_filter_sidebar() -> Filters:
    """``filter_sidebar`` plus agent, score-range, CSAT, reviewed, conversation-id and tag pickers, and "清除".

    A drill-down's Filters (e.g. min_risk from an overview cell) show up in these widgets too.
    """
    f = filter_sidebar()
    tree = read(current_tree)
    by_path = {path: tag_id for tag_id, path in tree.paths().items()}
    wanted = _review_widget_values(f)
    wanted["flt_tags"] = [p for p in wanted["flt_tags"] if p in by_path]  # a tag removed from the tree since
    shown = st.session_state.get(_REVIEW_SHOWN_KEY)
    external = shown is None or _review_widget_values(shown) != wanted
    for key, value in wanted.items():
        if external or key not in st.session_state:
            st.session_state[key] = value
    with st.sidebar:
        options = sorted(set(cached(dimension_values, "agent")) | set(f.agents))
        agents = tuple(st.multiselect("坐席", options, key="flt_agents", placeholder="全部"))
        # each slider's own default is its "no filter" value: a browser that sends a widget's default (seen when a
        # redraw races a click) then means "no filter", not 相关度 ≤ 0 (the slider's minimum), which hid everything
        risk: tuple[float, float] = st.slider("预测不满风险", 0.0, 1.0, value=(0.0, 1.0), step=0.05, key="flt_risk")  # a range: its state is a pair
        lo, hi = risk
        tone = st.slider("语气风险 ≥", 0.0, 1.0, value=0.0, step=0.05, key="flt_tone")
        relevance = st.slider("相关度 ≤", 0.0, 1.0, value=1.0, step=0.05, key="flt_relevance")
        first = st.number_input("首次响应 ≥（秒）", min_value=0, step=30, key="flt_first_response")
        csat = _CSAT_CHOICES[st.selectbox("CSAT", list(_CSAT_CHOICES), key="flt_csat")]
        reviewed = _REVIEWED_CHOICES[st.selectbox("复核状态", list(_REVIEWED_CHOICES), key="flt_reviewed")]
        text = st.text_input("会话号", key="flt_text", placeholder="精确匹配外部会话号")
        picked = st.multiselect("标签", list(by_path), key="flt_tags", placeholder="全部（含下级标签）")
    chosen = f.with_(agents=agents, min_risk=lo or None, max_risk=hi if hi < 1.0 else None,
                     min_tone_risk=tone or None, max_relevance=relevance if relevance < 1.0 else None,
                     min_first_response_s=float(first) if first else None, csat_max=csat, reviewed=reviewed,
                     text=text.strip(), tags=tag_filter(tree, [by_path[p] for p in picked]))
    set_filters(chosen)
    st.session_state[_SIDEBAR_SHOWN_KEY] = chosen  # so filter_sidebar does not take this run's choice as external
    st.session_state[_REVIEW_SHOWN_KEY] = chosen
    with st.sidebar:
        st.caption(f"当前筛选：{plain(chosen.describe())}")
        st.button("清除筛选", key="flt_clear", on_click=_clear_filters)
    return chosen
