"""坐席: one agent's scorecard against their team, the weekly trend, and their best and worst conversations."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from qa.access import allowed, scope_filters
from qa.analytics import dashboard as dash
from qa.analytics.filters import Filters
from qa.program.scorecard import BONUS_NOTE
from qa.review import scorecards as sc
from ui.cache import cached, cached_with_reviews
from ui.charts import highlight_row, score_label, selected, trend_chart
from ui.disputes import dispute_rate_table
from ui.filters import filter_sidebar
from ui.frame import require_frame
from ui.scorecard_form import bonus_note
from ui.state import open_queue, open_replay
from ui.text import plain
from ui.user import current_principal

require_frame(__file__)

AGENT_KEY = "agents_page_agent"  # survives visits to other pages, unlike the widget's own state
REVIEW_METRICS: dict[str, tuple[str, str, bool | None, str]] = {
    # key: (label, kind, worse when higher — None: neither, help) for figures not in dash.METRICS
    "card_mean": ("评分表得分", "points", False, "评分表评审的最终得分均值（0–100；申诉改分后以改后为准，校准评分不计）。"
                  f"{BONUS_NOTE}。"),
    "dispute_share": ("评审被申诉比例", "pct", None, "该坐席会话的评分表评审中，被提出申诉的比例。"),
    "rubric_mean": ("整体评审均分（1–5）", "score", False, "会话回放“整体评审”里四个评分项（1–5 分）的平均。"),
    "fail_share": (f"整体评审{sc.FAIL}率", "pct", True, f"“整体评审”的结论中“{sc.FAIL}”的比例。"),
}
CARD = ("risk_mean", "risk_high_share", "sla_rate", "first_response_s", "tone_flag_share", "csat", "card_mean",
        "dispute_share")
RUBRIC_CARD = ("rubric_mean", "fail_share")  # shown only where someone used the 整体评审 rubric
TREND_METRICS = ("risk_high_share", "sla_rate", "first_response_s", "csat", "tone_flag_share")
TEAM_FORMATS = {"conversations": "{:,.0f}", "risk_mean": "{:.1f}%", "sla_rate": "{:.1f}%", "first_response_s": "{:.0f}",
                "tone_flagged": "{:,.0f}", "csat": "{:.2f}", "csat_n": "{:,.0f}", "reviewed": "{:,.0f}",
                "card_mean": "{:.1f}", "rubric_mean": "{:.2f}"}
TEAM_COLUMNS = {
    "agent": st.column_config.TextColumn("坐席"),
    "conversations": st.column_config.NumberColumn("会话", format="localized"),
    "risk_mean": st.column_config.NumberColumn("预测不满意", format="%.1f%%"),
    "sla_rate": st.column_config.NumberColumn("SLA 内回复率", format="%.1f%%"),
    "first_response_s": st.column_config.NumberColumn(score_label("first_response_s"), format="%.0f"),
    "tone_flagged": st.column_config.NumberColumn("语气预警", format="localized"),
    "csat": st.column_config.NumberColumn("CSAT", format="%.2f"),
    "csat_n": st.column_config.NumberColumn("评价数", format="localized"),
    "reviewed": st.column_config.NumberColumn("已复核会话", format="localized", help="有任一种评审（评分表评审或整体评审）的会话"),
    "card_mean": st.column_config.NumberColumn("评分表得分", format="%.1f", help=REVIEW_METRICS["card_mean"][3]),
    "rubric_mean": st.column_config.NumberColumn("整体评审均分（1–5）", format="%.2f"),
}


def pick_agent(agents: pd.DataFrame) -> str:
    """The agent picker, remembering the last choice across pages."""
    names = list(agents["agent"])
    labels = {r.agent: f"{r.agent}（{r.team or '无组'} · {r.conversations:,.0f} 个会话）" for r in agents.itertuples()}
    last = st.session_state.get(AGENT_KEY)
    agent = st.selectbox("坐席", names, index=names.index(last) if last in names else 0, format_func=labels.get,
                         key="ag_agent")
    st.session_state[AGENT_KEY] = agent
    return agent


def card_metrics(card: sc.Scorecard) -> None:
    """The agent's figures, each with its difference from the team."""
    mine = card.mine
    top = st.columns(4)
    top[0].metric("会话数", f"{mine['conversations']:,.0f}")
    top[1].metric("语气预警", f"{mine['tone_flagged']:,.0f} 次")
    top[2].metric("CSAT 评价", f"{mine['csat_n']:,.0f} 条")
    top[3].metric("已复核会话", f"{mine['reviewed']:,.0f}", help="有任一种评审（评分表评审或整体评审）的会话")
    keys = [*CARD, *(RUBRIC_CARD if card.team_figures.get("rubric_n") or card.team_figures.get("verdicts") else ())]
    cells = [c for _ in range(0, len(keys), 4) for c in st.columns(4)]
    for cell, key in zip(cells, keys):
        metric = dash.METRICS.get(key)
        label, kind, worse_up, about = ((metric.label, None, metric.worse_when_higher, "") if metric
                                        else REVIEW_METRICS[key])
        change = dash.format_change(key, card.versus_team(key), kind)
        # the team's name is imported, and help reads Markdown
        team = f"{plain(card.team_label)}：{dash.format_value(key, card.team_figures.get(key), kind)}"
        cell.metric(label, dash.format_value(key, mine.get(key), kind),
                    f"{change}（对比组）" if change else None,
                    delta_color="off" if worse_up is None else "inverse" if worse_up else "normal",
                    help=f"{about}{team}" if about else team)
    bonus_note(card.members["card_mean"])  # the metric above and the team table below


def agent_trend(f: Filters, card: sc.Scorecard) -> None:
    """Weekly line of the agent against the team; clicking a point opens the agent's conversations that week."""
    metric = st.segmented_control("指标", TREND_METRICS, default="risk_high_share", key="ag_trend_metric",
                                  format_func=lambda k: dash.METRICS[k].label) or "risk_high_share"
    title = dash.METRICS[metric].label
    peaks = dash.peak_days(min(card.trend["start"]), max(card.trend["end"]))
    event = st.altair_chart(trend_chart(card.trend, metric, title, peaks, series="who", weekly=True),
                            key="ag_trend", on_select="rerun", selection_mode="pick")
    st.caption("点击图中的点，查看该坐席当周的会话。" + dash.partial_weeks_note(card.partial_weeks))
    point = selected(event)
    if point:
        row = card.trend[card.trend["period"] == point["period"]].iloc[0]
        open_queue(dash.drill_filters(f.with_(teams=()), "agent", card.agent, row["start"], row["end"]))


def case_list(df: pd.DataFrame, key: str) -> None:
    """Conversations with their risk and reason, each with a button to replay it."""
    if df.empty:
        st.caption("没有已评分的会话。")
    replay = allowed(current_principal(), "view_conversations")  # executives: aggregates only, no replay buttons
    for row in df.itertuples():
        left, right = st.columns([5, 1])
        csat = f" · CSAT {row.csat:.0f}" if pd.notna(row.csat) else ""
        left.markdown(f"**{plain(row.external_id)}** · {row.started_at:%m-%d %H:%M} · {plain(row.platform or '—')} · "
                      f"{plain(row.category or '—')} · 风险 **{row.risk:.0%}**{csat}")
        left.caption(plain(row.explanation or ""))
        if replay and right.button("回放", key=f"{key}_{row.conversation_id}"):
            open_replay(int(row.conversation_id))


principal = current_principal()
own = allowed(principal, "answer_review")  # an agent: their own card against the team's totals, no colleague's row
f = scope_filters(principal, filter_sidebar())
st.title("我的表现" if own else "坐席")
agents = cached(sc.agents_in_scope, f)
if agents.empty:
    st.info("所选范围内没有你接待的会话，请调整左侧筛选。" if own else
            "所选范围内没有坐席的会话。请调整左侧筛选，或先在「数据」页导入聊天记录。")
    st.stop()
agent = str(agents["agent"].iloc[0]) if own else pick_agent(agents)
card = cached_with_reviews(sc.scorecard, f, agent)
st.caption(f"{plain(f.with_(teams=()).describe())} · 对比：{plain(card.team_label)}（组内全部坐席的会话合计）"
           " · 转接会话按各坐席负责的部分计入：回复、等待与超时算发出回复的坐席，评价算最后回复的坐席")
card_metrics(card)
if allowed(principal, "view_conversations") and st.button("查看该坐席的全部会话", key="ag_queue"):
    open_queue(dash.drill_filters(f.with_(teams=()), "agent", agent))

st.subheader("每周趋势")
agent_trend(f, card)

st.subheader("可学习的会话")
best, worst = cached(sc.extreme_conversations, f, agent)
left, right = st.columns(2)
with left:
    st.markdown("**风险最低（做得好）**")
    case_list(best, "ag_best")
with right:
    st.markdown("**风险最高（需辅导）**")
    case_list(worst, "ag_worst")

if own:  # colleagues' figures are theirs: an agent compares with the team's totals above
    st.stop()
st.subheader(f"{plain(card.team_label)} 组内对比")
team = card.members
columns = [c for c in TEAM_COLUMNS if c != "rubric_mean" or team["rubric_mean"].notna().any()]
shown = team[columns].assign(risk_mean=team["risk_mean"] * 100, sla_rate=team["sla_rate"] * 100)
highlight = highlight_row(shown, "agent", agent, TEAM_FORMATS)
st.dataframe(highlight, column_config=TEAM_COLUMNS, hide_index=True, key="ag_team", height=35 * (len(shown) + 1) + 3)

st.subheader("质检员申诉率")
st.caption("坐席对评分表评审提出申诉的比例，以及申诉后改分的比例（全部评审，不受筛选影响）。")
dispute_rate_table("ag_dispute_rates")
