"""总览: what executives ask first — volume, CSAT, predicted dissatisfaction and SLA, and what got worse.

Every figure comes from one cached ``qa.analytics.dashboard.cube`` (daily_stats only) and small pandas sums over it; every
chart point, heatmap cell and "what got worse" row opens the review queue on the conversations behind it.
"""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from qa.analytics import dashboard as dash
from qa.analytics.filters import Filters
from scoring.schema import RISK_HIGH
from ui.cache import cached
from ui.charts import axis_format, selected, trend_chart
from ui.filters import filter_sidebar
from ui.frame import require_frame
from ui.state import open_queue
from ui.text import plain

require_frame(__file__)

BREAKDOWN = ("platform", "shop", "team", "category")
TREND_CHARTS = (("conversations", "会话量"), ("csat", "CSAT"), ("risk_mean", "预测不满意（均值）"),
                ("sla_rate", "SLA 内回复率"))
TOP_VALUES = 15


def drill(f: Filters, **where: object) -> None:
    """Open the queue on the conversations behind a point, unless the point is the unfilterable "未知"."""
    target = dash.drill_filters(f, **where)  # type: ignore[arg-type]
    if target is None:
        st.warning("“未知”没有对应的筛选条件，无法打开这些会话。")
        return
    open_queue(target)


def kpi_row(k: dash.Kpis) -> None:
    """Five headline numbers, each with its change against the previous period."""
    cur, prev = k.current, k.previous

    def shown(key: str, side: dict[str, float]) -> str:
        return dash.format_value(key, side[key])

    cols = st.columns(5)
    growth = f"（{k.change('conversations') / prev['conversations']:+.0%}）" if prev["conversations"] else ""
    cols[0].metric("会话数", shown("conversations", cur),
                   dash.format_change("conversations", k.change("conversations")) + growth if growth else None,
                   delta_color="off", help="所选时间段内开始的会话")
    cols[0].caption(f"上期 {shown('conversations', prev)}")
    notes = {
        "csat": f"{shown('csat_n', cur)} 条评价，覆盖 {shown('csat_share', cur)} 的会话",
        "risk_mean": f"高风险（≥{RISK_HIGH:.1f}）占 {shown('risk_high_share', cur)}"
                     f"（上期 {shown('risk_high_share', prev)}）",
        "sla_rate": f"{shown('replies_in_sla', cur)} / {shown('replies', cur)} 条回复在 SLA 内",
        "first_response_s": f"{shown('first_response_n', cur)} 个会话有坐席响应",
    }
    for col, (key, note) in zip(cols[1:], notes.items()):
        metric = dash.METRICS[key]
        col.metric(metric.label, shown(key, cur), dash.format_change(key, k.change(key)),
                   delta_color="inverse" if metric.worse_when_higher else "normal")
        col.caption(note)
    if not prev["conversations"]:
        st.caption("上一周期没有数据，无法对比。")


def trends(f: Filters, cube: dash.Cube) -> None:
    """Four trend charts by day or week, festivals marked; clicking a point opens that day's or week's cases."""
    period = cube.period
    grain = st.segmented_control("粒度", ["day", "week"], default="week" if period.days > 62 else "day",
                                 format_func={"day": "按天", "week": "按周"}.get, key="ov_grain") or "day"
    df = dash.trend(cube, grain)
    peaks = dash.peak_days(period.start, period.end)
    cols = st.columns(2)
    for i, (key, title) in enumerate(TREND_CHARTS):
        with cols[i % 2]:
            chart = trend_chart(df, key, title, peaks, area=key == "conversations", weekly=grain == "week")
            event = st.altair_chart(chart, key=f"ov_trend_{key}", on_select="rerun", selection_mode="pick")
        point = selected(event)
        if point:
            row = df[df["period"] == point["period"]].iloc[0]
            drill(f, start=row["start"], end=row["end"])
    note = "点击图中的点，查看该天/周的会话。红色虚线标出大促日。"
    if grain == "week":
        note += dash.partial_weeks_note(dash.partial_weeks(cube))
    st.caption(note)


def breakdown(f: Filters, comparisons: dict[str, pd.DataFrame], metric: str) -> None:
    """One bar chart per dimension (largest values by volume); clicking a bar opens its conversations."""
    fmt = axis_format(metric)
    m = dash.METRICS[metric]
    tabs = st.tabs([dash.DIMENSIONS[d].label for d in BREAKDOWN])
    for tab, dim in zip(tabs, BREAKDOWN):
        df = comparisons[dim]
        df = df[df["conversations"] > 0].head(TOP_VALUES)
        pick = alt.selection_point(name="pick", fields=["value"], on="click")
        base = alt.Chart(df).encode(
            y=alt.Y("value:N", title=None, sort="-x"),
            x=alt.X(f"{metric}:Q", title=m.label, axis=alt.Axis(format=fmt, tickCount=5)),
            tooltip=[alt.Tooltip("value:N", title=dash.DIMENSIONS[dim].label),
                     alt.Tooltip(f"{metric}:Q", title=m.label, format=fmt),
                     alt.Tooltip(f"prev_{metric}:Q", title="上期", format=fmt),
                     alt.Tooltip(f"{m.denominator}:Q", title=m.volume, format=",.0f"),
                     alt.Tooltip("conversations:Q", title="会话", format=",.0f")],
        )
        bars = base.mark_bar(cursor="pointer").encode(color=alt.Color(
            f"{metric}:Q", legend=None, scale=alt.Scale(scheme="reds" if m.worse_when_higher else "blues")))
        labels = base.mark_text(align="left", dx=4).encode(text=alt.Text(f"{metric}:Q", format=fmt))
        chart = alt.layer(bars.add_params(pick), labels).properties(height=alt.Step(26))
        with tab:
            event = st.altair_chart(chart, key=f"ov_bar_{dim}", on_select="rerun", selection_mode="pick")
            if len(comparisons[dim]) > TOP_VALUES:
                st.caption(f"按会话量显示前 {TOP_VALUES} 个。")
        point = selected(event)
        if point:
            drill(f, dimension=dim, value=point["value"])


def worsened(f: Filters, comparisons: dict[str, pd.DataFrame], metric: str) -> None:
    """The values whose metric got worse the most, each with a button to their conversations."""
    m = dash.METRICS[metric]
    df = dash.worsened(comparisons, metric, dash.MIN_VOLUME)
    st.caption(f"与上一周期相比，{m.label}变差最多的平台/店铺/组/分类；只比较两期各有至少 {dash.MIN_VOLUME} "
               f"{m.volume}的项。")
    if df.empty:
        st.info("没有达到数量门槛且变差的项。")
        return
    widths = [1, 3, 1.2, 1.2, 1.8, 1.8, 1.6]
    header = st.columns(widths)
    for col, text in zip(header, ["维度", "值", "上期", "本期", "变化", "数量（上期 → 本期）"]):
        col.markdown(f"**{text}**")
    for i, row in df.iterrows():
        cols = st.columns(widths)
        cols[0].write(row["dimension_label"])
        cols[1].write(row["value"])
        cols[2].write(dash.format_value(metric, row["previous"]))
        cols[3].write(dash.format_value(metric, row["current"]))
        cols[4].markdown(f":red[{dash.format_change(metric, row['change'])}]")
        cols[5].write(f"{row['n_previous']:,} → {row['n_current']:,}")
        if cols[6].button("查看这些会话", key=f"ov_worse_{i}", disabled=row["value"] == dash.UNKNOWN):
            drill(f, dimension=row["dimension"], value=row["value"])


def heatmap(f: Filters, cube: dash.Cube) -> None:
    """Failure rate per category and week; clicking a cell opens that category's conversations of that week."""
    df = dash.failure_heatmap(cube)
    if not (df["scored"] > 0).any():
        st.info("所选范围内没有已评分的会话。")
        return
    df = df.assign(span=[f"{a} 至 {b}" for a, b in zip(df["start"], df["end"])])
    pick = alt.selection_point(name="pick", fields=["category", "period"], on="click")
    base = alt.Chart(df).encode(
        x=alt.X("period:O", title="周（自周一起）", axis=alt.Axis(labelAngle=0, labelExpr="substring(datum.value, 5)")),
        y=alt.Y("category:N", title=None))
    cells = base.transform_filter("datum.scored > 0").mark_rect(cursor="pointer").encode(
        color=alt.Color("risk_high_share:Q", title="失败率", scale=alt.Scale(scheme="reds"),
                        legend=alt.Legend(format=".0%")),
        tooltip=[alt.Tooltip("category:N", title="分类"), alt.Tooltip("span:N", title="日期"),
                 alt.Tooltip("risk_high_share:Q", title="失败率", format=".1%"),
                 alt.Tooltip("risk_high:Q", title="高风险会话", format=",.0f"),
                 alt.Tooltip("scored:Q", title="已评分会话", format=",.0f")],
    ).add_params(pick)
    empty = base.transform_filter("datum.scored == 0").mark_rect(color="#f1f1f1", stroke="#d0d0d0").encode(
        tooltip=[alt.Tooltip("category:N", title="分类"), alt.Tooltip("span:N", title="日期"),
                 alt.Tooltip("empty_reason:N", title="空白原因")])
    chart = alt.layer(empty, cells).properties(height=alt.Step(24))
    event = st.altair_chart(chart, key="ov_heatmap", on_select="rerun", selection_mode="pick")
    st.caption(f"失败率 = 预测不满意风险 ≥ {RISK_HIGH:.1f} 的会话 ÷ 已评分会话（模型判断，不依赖顾客是否给了 CSAT）。"
               "点击格子查看该分类当周的会话；灰色格子是这一周该分类没有会话或还没有评分（悬停可见）。")
    cell = selected(event)
    if cell:
        row = df[(df["category"] == cell["category"]) & (df["period"] == cell["period"])].iloc[0]
        drill(f, dimension="category", value=row["category"], start=row["start"], end=row["end"])


f = filter_sidebar()
st.title("总览")
cube = cached(dash.cube, f)  # the page's one SQL aggregate; every figure below is a sum over it
k = dash.kpis(cube) if cube is not None else None
if k is None or not k.current["conversations"]:
    st.info("所选范围内没有会话。请调整左侧筛选，或先在「数据」页导入聊天记录。")
    st.stop()
st.caption(f"{plain(f.describe())} · 对比上一周期 {k.period.previous.start} 至 {k.period.previous.end}")
kpi_row(k)

st.subheader("趋势")
trends(f, cube)

comparisons = {dim: dash.compare(cube, dim) for dim in BREAKDOWN}
st.subheader("分布与变化")
metric = st.columns(3)[0].selectbox("指标", list(dash.METRICS), format_func=lambda key: dash.METRICS[key].label,
                                    key="ov_metric")
st.markdown("**按维度**")
breakdown(f, comparisons, metric)
st.markdown("**变差最多**")
worsened(f, comparisons, metric)

st.subheader("分类 × 周 失败率")
heatmap(f, cube)
