"""申诉: an agent or team lead reads their reviews and confirms or disputes them within the window; a QA manager
upholds or changes a disputed review; the score shown everywhere is the final one; every step has who and when."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from qa.access import allowed
from qa.errors import HuifangError
from qa.program import disputes, reviews
from ui.cache import engine, read
from ui.disputes import dispute_rate_table
from ui.frame import require_frame
from ui.scorecard_form import bonus_note, load_form, rate_scorecard, rating_text, show_score
from ui.state import flash, show_flash
from ui.text import plain
from ui.user import current_principal, current_user

require_frame(__file__)

REVIEW_COLUMNS = {"external_id": "会话号", "agent": "坐席", "scorecard": "评分表", "reviewer": "评审人",
                  "score": st.column_config.NumberColumn("最终得分", format="%.1f"), "state": "状态",
                  "updated_at": st.column_config.DatetimeColumn("评审时间", format="MM-DD HH:mm"),
                  "dispute_deadline": st.column_config.DatetimeColumn("申诉截止", format="MM-DD HH:mm")}


def _score(value: float | None) -> str:
    return "—" if value is None or pd.isna(value) else f"{value:.1f}"


def _state(row: pd.Series) -> str:
    """What has happened to a review, in a word or two."""
    if pd.notna(row["dispute_status"]):
        return str(row["dispute_status"])
    if pd.notna(row["acknowledged_at"]):
        return "已确认"
    return "待确认，可申诉" if row["can_dispute"] else "已过申诉期"


def review_detail(review_id: int) -> None:
    """The review's criteria as rated, its final score with the computation, and its steps."""
    review = read(reviews.load_review, review_id)
    card = review.scorecard.card
    left, right = st.columns([2, 1], gap="large")
    with left:
        st.dataframe(pd.DataFrame([{"section": s.label, "criterion": c.label,
                                    "rating": rating_text(c, review.ratings.get(c.key))} for s, c in card.criteria()]),
                     hide_index=True, key=f"dp_items_{review_id}",
                     column_config={"section": "节", "criterion": "评分项", "rating": "评分"})
        if review.comment:
            st.caption(f"评语：{plain(review.comment)}")
    with right:
        show_score(card, review.ratings, "最终得分")
        for step in read(disputes.review_timeline, review_id):
            when = f"{step.when:%m-%d %H:%M}" if step.when else ""
            st.caption(plain(f"{when} {step.what} · {step.who or '—'}" + (f"：{step.detail}" if step.detail else "")))


def my_reviews(actor: str | None) -> None:
    """An agent's reviews (or a team's, or those the signed-in reviewer wrote), and 确认 / 申诉 on the one picked."""
    everything = read(disputes.reviews_for)
    if everything.empty:
        st.info("还没有评分表评审。")
        return
    own = principal.agent_name if principal is not None and principal.role == "agent" else None
    wrote = ["我写的评审"] if actor is not None and allowed(principal, "review") else []  # a reviewer's own first
    by = "坐席" if own is not None else st.radio("查看", [*wrote, "坐席", "技能组"], horizontal=True, key="dp_by")
    if by == "我写的评审":
        mine = read(disputes.reviews_for, reviewer=actor)
    elif by == "坐席":
        agents = [own] if own is not None else sorted(everything["agent"].dropna().unique())  # an agent: their own
        if not agents:
            st.info("评审的会话都没有坐席。")
            return
        default = agents.index(actor) if actor in agents else 0
        who = st.selectbox("坐席", agents, index=default, key="dp_agent")
        mine = read(disputes.reviews_for, agent=who)
    else:
        teams = sorted(everything["team"].dropna().unique())
        if not teams:
            st.info("评审的会话都没有技能组。")
            return
        who = st.selectbox("技能组", teams, key="dp_team")
        mine = read(disputes.reviews_for, team=who)
    if mine.empty:
        st.info("你还没有写过评分表评审。" if by == "我写的评审" else "没有评审。")
        return
    mine = mine.assign(state=mine.apply(_state, axis=1))
    st.dataframe(mine, hide_index=True, column_order=list(REVIEW_COLUMNS), column_config=REVIEW_COLUMNS,
                 key="dp_mine")
    bonus_note(mine["score"])
    rows = {int(r.review_id): f"{r.external_id} · {r.scorecard} · {_score(r.score)} 分 · {r.state}"
            for r in mine.itertuples()}
    rid = st.selectbox("评审", list(rows), key="dp_review", format_func=rows.get)
    row = mine.set_index("review_id").loc[rid]
    review_detail(rid)
    if actor is None or not allowed(current_principal(), "answer_review"):
        st.caption("确认或申诉由被评审的坐席本人在自己的账号中进行。")
        return
    if pd.isna(row["acknowledged_at"]) and pd.isna(row["dispute_status"]):
        if st.button("确认（已读）", key="dp_ack"):
            try:
                disputes.acknowledge(engine(), rid, actor)
            except HuifangError as e:
                st.error(plain(e))
            else:
                flash(f"已确认会话 {row['external_id']} 的评审")
                st.rerun()
    if row["can_dispute"]:
        reason = st.text_area("申诉理由", key="dp_reason", height=80,
                              placeholder=f"申诉截止 {row['dispute_deadline']:%m-%d %H:%M}；写明哪一项、为什么")
        if st.button("提出申诉", key="dp_open"):
            try:
                disputes.open_dispute(engine(), rid, reason, actor)
            except HuifangError as e:
                st.error(plain(e))
            else:
                flash(f"已对会话 {row['external_id']} 的评审提出申诉，等待质检主管处理")
                st.rerun()


def _resolve(dispute_id: int, actor: str, ratings: dict | None) -> None:
    try:
        status = disputes.resolve_dispute(engine(), dispute_id, actor, st.session_state.get("dp_comment", ""), ratings)
    except HuifangError as e:
        st.error(plain(e))
    else:
        flash(f"申诉已处理：{status}")
        st.rerun()


def open_list(actor: str | None, waiting: pd.DataFrame) -> None:
    """Disputes waiting for a QA manager (``disputes.open_disputes``), and the form to uphold or change the one
    picked."""
    if waiting.empty:
        st.info("没有待处理的申诉。")
        return
    st.dataframe(waiting, hide_index=True, key="dp_waiting",
                 column_order=["external_id", "agent", "scorecard", "reviewer", "score", "opened_at", "reason"],
                 column_config=REVIEW_COLUMNS | {"opened_at": st.column_config.DatetimeColumn("申诉时间",
                                                                                             format="MM-DD HH:mm"),
                                                 "reason": "理由"})
    bonus_note(waiting["score"])
    rows = {int(r.dispute_id): f"{r.external_id} · {r.agent} · {r.reason[:20]}" for r in waiting.itertuples()}
    did = st.selectbox("申诉", list(rows), key="dp_dispute", format_func=rows.get)
    row = waiting.set_index("dispute_id").loc[did]
    review = read(reviews.load_review, int(row["review_id"]))
    st.caption(plain(f"申诉理由：{row['reason']}"))
    if actor is None:
        st.info("在侧边栏选择“当前用户”后即可处理申诉。")
        return
    form, score = st.columns([3, 1], gap="large")
    with form:
        load_form("dpr", (did, review.updated_at), review.scorecard.card, review.ratings)
        ratings = rate_scorecard(review.scorecard.card, "dpr")
        st.text_input("处理意见", key="dp_comment", placeholder="例如：复核录音后认可申诉")
    with score:
        st.metric("原得分", _score(row["score"]))
        show_score(review.scorecard.card, ratings, "改后得分")
    b = st.columns(2)
    if b[0].button("维持原判", key="dp_uphold"):
        _resolve(did, actor, None)
    if b[1].button("按上面的评分改分", key="dp_change", type="primary"):
        _resolve(did, actor, ratings)


user = current_user()
principal = current_principal()
actor = user[1] if user else None
st.title("申诉")
show_flash()
if not allowed(principal, "manage_program"):  # agents and reviewers: their reviews only; resolving is a manager's
    my_reviews(actor)
    st.stop()
waiting = read(disputes.open_disputes)
labels = ["评审记录", f"待处理申诉（{len(waiting)}）" if len(waiting) else "待处理申诉", "申诉率"]
tab_mine, tab_open, tab_rates = st.tabs(labels, default=labels[1] if len(waiting) else None)  # the work first
with tab_mine:
    my_reviews(actor)
with tab_open:
    open_list(actor, waiting)
with tab_rates:
    dispute_rate_table("dp_rates")
