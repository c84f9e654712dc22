"""校准: a manager sets up a calibration session, reviewers score its conversations blind, and once it is closed
everyone sees Krippendorff's α, the share within ±10 points, each reviewer's deviation and the trend."""

from __future__ import annotations

import re

import streamlit as st

from qa.errors import HuifangError
from qa.program import calibration, reviews, store
from qa.review.replay import chat_html, load_replay, resolve_conversation
from qa.review.users import list_users
from ui.cache import engine, read
from ui.charts import calibration_trend_chart
from ui.frame import require_frame
from ui.scorecard_form import based_on, load_form, rate_scorecard, refused_as_stale, saved, show_score
from ui.state import flash, show_flash
from ui.text import plain
from ui.user import current_user

require_frame(__file__)

LEVELS = {"nominal": "名义（是/否）", "ordinal": "顺序（1–5）", "interval": "区间（分值、加减分、总分）"}
ITEM_COLUMNS = {"label": "评分项", "level": "α 的测量尺度",
                "alpha": st.column_config.NumberColumn("Krippendorff's α", format="%.2f"),
                "within_share": st.column_config.NumberColumn("±10 分以内", format="percent"),
                "comparisons": "比较次数"}
REVIEWER_COLUMNS = {"reviewer": "质检员", "reviews": "评分数",
                    "mean_deviation": st.column_config.NumberColumn("平均偏差", format="%+.1f"),
                    "mean_abs_deviation": st.column_config.NumberColumn("平均绝对偏差", format="%.1f"),
                    "within_share": st.column_config.NumberColumn("±10 分以内", format="percent")}


def _fmt(value: float | None, pattern: str = "{:.2f}") -> str:
    return "—" if value is None else pattern.format(value)


def my_tasks(actor: str) -> None:
    """The conversations of open sessions ``actor`` takes part in, and the blind scoring form."""
    work = read(calibration.my_calibration_work, actor)
    if work.empty:
        st.info("你目前没有进行中的校准任务。")
        return
    st.caption(f"已评 {int(work['done'].sum())} / {len(work)}。评分期间看不到其他人的分数，校准会结束后公布结果。")
    rows = list(work.itertuples(index=False))
    pick = st.selectbox("校准会话", range(len(rows)), key="cal_task", format_func=lambda i: (
        f"{rows[i].session} · 会话 {rows[i].external_id} · {'已评' if rows[i].done else '未评'}"))
    task = rows[pick]
    sid, cid = int(task.session_id), int(task.conversation_id)
    info = read(calibration.session_info, sid)
    stored = read(store.load_version, info.version_id)
    mine = read(reviews.my_review, cid, actor, sid)
    chat, form = st.columns([1, 1], gap="large")
    with chat:
        with st.container(height=520):
            st.markdown(chat_html(read(load_replay, cid).messages), unsafe_allow_html=True)
    with form:
        st.caption(plain(f"评分表“{stored.card.name}”第 {stored.version} 版"))
        load_form("cal", (sid, cid, actor), stored.card, mine.ratings if mine else {}, mine.version if mine else 0)
        ratings = rate_scorecard(stored.card, "cal")
        show_score(stored.card, ratings, "我的得分")
        if st.button("提交校准评分", key="cal_submit", type="primary"):
            try:
                calibration.submit_review(engine(), sid, cid, ratings, actor, base_version=based_on("cal"))
            except reviews.StaleScorecardReviewError as e:
                refused_as_stale("cal", e, "提交校准评分")
            except HuifangError as e:
                st.error(plain(e))
            else:
                saved("cal")
                flash(f"已提交会话 {task.external_id} 的校准评分（结束前可修改）")
                st.rerun()


def session_view(actor: str | None) -> None:
    """One session: who has scored how much; once closed, its results; and α over all closed sessions."""
    sessions = read(calibration.list_sessions)
    if sessions.empty:
        st.info("还没有校准会：在“新建校准会”里创建一个。")
        return
    labels = {int(r.id): f"{r.name}（{r.scorecard} 第 {r.version} 版 · {'已结束' if r.closed_at is not None else '进行中'}）"
              for r in sessions.itertuples()}
    sid = st.selectbox("校准会", list(labels), key="cal_session", format_func=labels.get)
    info = read(calibration.session_info, sid)
    facts = [f"{len(info.conversation_ids)} 个会话", f"质检员：{'、'.join(info.reviewers)}",
             f"基准：{info.benchmark}" if info.benchmark else "无基准（与其他人的平均比较）",
             f"创建：{info.created_by} {info.created_at:%Y-%m-%d}"]
    if info.closed_at is not None:
        facts.append(f"结束：{info.closed_by} {info.closed_at:%Y-%m-%d %H:%M}")
    st.caption(plain(" · ".join(facts)))
    progress = read(calibration.session_progress, sid)
    st.dataframe(progress, hide_index=True, key="cal_progress",
                 column_config={"reviewer": "质检员", "done": "已评", "total": "会话数", "benchmark": "基准"})
    if not info.closed:
        st.info("校准会进行中：评分互不可见，结束后公布结果。")
        if actor is not None and st.button("结束校准会并公布结果", key="cal_close"):
            try:
                calibration.close_session(engine(), sid, actor)
            except HuifangError as e:
                st.error(plain(e))
            else:
                flash(f"校准会“{info.name}”已结束")
                st.rerun()
        return
    results = read(calibration.session_results, sid)
    overall = st.columns(3)
    overall[0].metric("总分 Krippendorff's α", _fmt(results.overall_alpha),
                      help="机会校正后的一致性：1 为完全一致，0 为与随机相当；0.8 以上可放心，0.667 以下需再校准")
    overall[1].metric("总分在 ±10 分以内", _fmt(results.overall_within, "{:.0%}"))
    overall[2].metric("比较对象", "基准质检员" if results.reference == "benchmark" else "其他人的平均")
    items = results.items.assign(level=results.items["level"].map(LEVELS))
    st.dataframe(items, hide_index=True, column_order=list(ITEM_COLUMNS), column_config=ITEM_COLUMNS, key="cal_items")
    st.markdown("**每位质检员的偏差**（总分：本人 − 比较对象，正数表示打分偏高）")
    st.dataframe(results.reviewers, hide_index=True, column_config=REVIEWER_COLUMNS, key="cal_reviewers")
    with st.expander("全部评分（已公开）"):
        st.dataframe(read(calibration.visible_reviews, sid, actor or ""), hide_index=True, key="cal_all",
                     column_config={"review_id": None, "conversation_id": "会话 ID", "reviewer": "质检员",
                                    "score": st.column_config.NumberColumn("得分", format="%.1f"),
                                    "updated_at": st.column_config.DatetimeColumn("时间", format="MM-DD HH:mm")})


def new_session(actor: str) -> None:
    """The manager's form: name, scorecard, conversations, reviewers, optional benchmark."""
    cards = read(store.list_scorecards)
    if cards.empty:
        st.info("先在“评分表”页建一张评分表。")
        return
    users = [name for _uid, name, _role in read(list_users)]
    with st.form("cal_new"):
        name = st.text_input("名称", key="cal_new_name", placeholder="例如 12 月第 1 周售后校准")
        card = st.selectbox("评分表（使用其当前版本）", list(cards["name"]), key="cal_new_card")
        keys = st.text_area("会话号（每行一个，或用逗号分隔）", key="cal_new_conversations", height=100)
        people = st.multiselect("参加的质检员", users, key="cal_new_reviewers", placeholder="选择参加的质检员")
        benchmark = st.selectbox("基准质检员（可选，也参加评分）", [None, *users], key="cal_new_benchmark",
                                 format_func=lambda u: "无" if u is None else u)
        if not st.form_submit_button("创建校准会", type="primary"):
            return
    try:
        ids = [read(resolve_conversation, k) for k in re.split(r"[\s,，、]+", keys) if k]
        version_id = int(cards.loc[cards["name"] == card, "version_id"].iloc[0])
        calibration.create_session(engine(), name, version_id, ids, people, actor, benchmark=benchmark)
    except HuifangError as e:
        st.error(plain(e))
    else:
        flash(f"已创建校准会“{name.strip()}”：参加的质检员在“我的校准任务”里评分")
        st.rerun()


user = current_user()
actor = user[1] if user else None
st.title("校准")
show_flash()
tab_mine, tab_sessions, tab_new = st.tabs(["我的校准任务", "校准会与结果", "新建校准会"])
with tab_sessions:
    session_view(actor)
    trend = read(calibration.calibration_trend)
    if len(trend) >= 1:
        st.markdown("**历次校准的一致性**")
        st.altair_chart(calibration_trend_chart(trend), width="stretch")
with tab_new:
    if actor is None:
        st.info("在侧边栏选择“当前用户”后即可创建校准会。")
    else:
        new_session(actor)
with tab_mine:
    if actor is None:
        st.info("在侧边栏选择“当前用户”后即可看到你的校准任务。")
    else:
        my_tasks(actor)
