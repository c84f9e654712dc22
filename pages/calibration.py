"""校准: a manager sets up a calibration session, reviewers score its conversations blind, and once it is closed
everyone sees Krippendorff's α, the share within ±10 points, each reviewer's deviation and the trend."""

from __future__ import annotations

import random
from collections.abc import Iterable

import pandas as pd
import streamlit as st

from qa.access import allowed
from qa.analytics.filters import Filters
from qa.errors import HuifangError
from qa.program import calibration, calibration_picks, store
from qa.review.users import users_who_may
from ui.cache import cached_with_reviews, engine, read
from ui.calibration_review import task_links
from ui.charts import calibration_trend_chart
from ui.filters import review_filter_sidebar
from ui.frame import require_frame
from ui.scorecard_form import bonus_note
from ui.state import CALIBRATION_TAB_KEY as TAB_KEY
from ui.state import flash, show_flash
from ui.text import plain
from ui.user import current_principal, current_user

require_frame(__file__)

TABS = ("我的校准任务", "校准会与结果", "新建校准会")
CHOOSE = ("从筛选结果中挑选", "随机抽取 N 条")
LEVELS = {"nominal": "名义（是/否）", "ordinal": "顺序（1–5）", "interval": "区间（分值、加减分、总分）"}
ITEM_COLUMNS = {"label": "评分项", "level": "α 的测量尺度",
                "alpha": st.column_config.TextColumn("Krippendorff's α"),
                "within_share": st.column_config.NumberColumn("±10 分以内", format="%.0f%%"),
                "comparisons": "比较次数"}
REVIEWER_COLUMNS = {"reviewer": "质检员", "reviews": "评分数",
                    "mean_deviation": st.column_config.NumberColumn("平均偏差", format="%+.1f"),
                    "mean_abs_deviation": st.column_config.NumberColumn("平均绝对偏差", format="%.1f"),
                    "within_share": st.column_config.NumberColumn("±10 分以内", format="%.0f%%")}


def _fmt(value: float | None, pattern: str = "{:.2f}") -> str:
    return "—" if value is None else pattern.format(value)


def _alpha_text(alpha: float | None, comparisons: int) -> str:
    """α as read in the table: undefined when nothing could be compared, or when every rating was the same value
    (no disagreement to correct for chance), which is said rather than shown as an empty cell."""
    if alpha is not None and not pd.isna(alpha):
        return f"{alpha:.2f}"
    return "—（没有可比的评分）" if not comparisons else "—（都打了同一个分，无法计算）"


def my_tasks(work: pd.DataFrame) -> None:
    """The conversations of open sessions the signed-in reviewer takes part in (``my_calibration_work``), each a
    link to score it blind in the replay."""
    if work.empty:
        st.info("你目前没有进行中的校准任务。")
        return
    st.caption(f"已评 {int(work['done'].sum())} / {len(work)}。点开一条在回放中盲评：评分期间看不到其他人的分数，"
               "校准会结束后公布结果。")
    task_links(work)


def session_view(actor: str | None, manager: bool) -> None:
    """One session: who has scored how much; once closed, its results; and α over all closed sessions."""
    sessions = read(calibration.list_sessions)
    if sessions.empty:
        st.info("还没有校准会：在“新建校准会”里创建一个。" if manager else "还没有校准会：由质检主管或管理员创建。")
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
    if info.note:
        facts.append(f"会话选取：{info.note}")
    st.caption(plain(" · ".join(facts)))
    progress = read(calibration.session_progress, sid)
    st.dataframe(progress, hide_index=True, key="cal_progress",
                 column_config={"reviewer": "质检员", "done": "已评", "total": "会话数", "benchmark": "基准"})
    if not info.closed:
        st.info("校准会进行中：评分互不可见，结束后公布结果。")
        if actor is not None and manager and st.button("结束校准会并公布结果", key="cal_close"):
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
    items = results.items.assign(
        level=results.items["level"].map(LEVELS), within_share=results.items["within_share"] * 100,
        alpha=[_alpha_text(a, n) for a, n in zip(results.items["alpha"], results.items["comparisons"])])
    st.dataframe(items, hide_index=True, column_order=list(ITEM_COLUMNS), column_config=ITEM_COLUMNS, key="cal_items")
    st.markdown("**每位质检员的偏差**（总分：本人 − 比较对象，正数表示打分偏高）")
    st.dataframe(results.reviewers.assign(within_share=results.reviewers["within_share"] * 100), hide_index=True,
                 column_config=REVIEWER_COLUMNS, key="cal_reviewers")
    with st.expander("全部评分（已公开）"):
        everyone = read(calibration.visible_reviews, sid, actor or "")
        st.dataframe(everyone, hide_index=True, key="cal_all",
                     column_config={"review_id": None, "conversation_id": "会话 ID", "reviewer": "质检员",
                                    "score": st.column_config.NumberColumn("得分", format="%.1f"),
                                    "updated_at": st.column_config.DatetimeColumn("时间", format="MM-DD HH:mm")})
        bonus_note(everyone["score"])


def _pruned(key: str, options: Iterable[object]) -> None:
    """Drop choices no longer offered (the filters changed) from a multiselect's state."""
    if key in st.session_state:
        offered = set(options)
        st.session_state[key] = [v for v in st.session_state[key] if v in offered]


def choose_conversations(f: Filters) -> tuple[list[int], str]:
    """The conversations picked from, or drawn at random out of, those matching the sidebar's filters, and how
    they were chosen (kept on the session)."""
    how = st.segmented_control("选择会话", list(CHOOSE), key="cal_new_how", default=CHOOSE[0]) or CHOOSE[0]
    if how == CHOOSE[0]:
        df = cached_with_reviews(calibration_picks.candidates, f)
        st.caption(plain(f"符合筛选（{f.describe()}）的会话按质检优先级排列，列出前 {len(df)} 条；用侧边栏缩小范围。"))
        labels = dict(zip(df["id"].astype(int), df["label"]))
        _pruned("cal_new_pick", labels)
        picked = st.multiselect("会话", list(labels), key="cal_new_pick", format_func=lambda i: plain(labels[i]),
                                placeholder="选择要校准的会话（会话号 · 坐席 · 日期 · 入队原因）")
        return picked, f"挑选 {len(picked)} 条 · 筛选：{f.describe()}"
    st.session_state.setdefault("cal_new_seed", random.randint(1, 9999))
    left, right = st.columns(2)
    n = int(left.number_input("抽取条数 N", 1, calibration_picks.DRAW_LIMIT, 5, key="cal_new_n"))
    seed = int(right.number_input("抽样编号", 0, 999_999, key="cal_new_seed",
                                  help="随机抽样用的编号：同一编号、同一筛选 = 同样的会话，可复现；换一个编号换一批"))
    df = cached_with_reviews(calibration_picks.draw, f, n, seed)
    how_drawn = f"{calibration_picks.draw_query(f, n, seed).describe_sample()} · 筛选：{f.describe()}"
    st.caption(plain(f"{how_drawn}：抽到 {len(df)} 条" + ("（符合筛选的会话不足 N 条）" if len(df) < n else "")))
    for label in df["label"]:
        st.caption(plain(f"· {label}"))
    return [int(i) for i in df["id"]], how_drawn


def new_session(actor: str, f: Filters) -> None:
    """The manager's form: conversations by the queue's filters, name, scorecard, reviewers, optional benchmark."""
    cards = read(store.list_scorecards)
    if cards.empty:
        st.info("先在“评分表”页建一张评分表。")
        return
    ids, how = choose_conversations(f)
    people = read(users_who_may, "review")
    with st.form("cal_new"):
        name = st.text_input("名称", key="cal_new_name", placeholder="例如 12 月第 1 周售后校准")
        card = st.selectbox("评分表（使用其当前版本）", list(cards["name"]), key="cal_new_card")
        reviewers = st.multiselect("参加的质检员", people, key="cal_new_reviewers", placeholder="选择参加的质检员")
        benchmark = st.selectbox("基准质检员（可选，也参加评分）", [None, *people], key="cal_new_benchmark",
                                 format_func=lambda u: "无" if u is None else u)
        if not st.form_submit_button(f"创建校准会（{len(ids)} 个会话）", type="primary"):
            return
    try:
        version_id = int(cards.loc[cards["name"] == card, "version_id"].iloc[0])
        calibration.create_session(engine(), name, version_id, ids, reviewers, actor, benchmark=benchmark, note=how)
    except HuifangError as e:
        st.error(plain(e))
    else:
        flash(f"已创建校准会“{name.strip()}”（{len(ids)} 个会话）：参加的质检员在“我的校准任务”里评分")
        st.rerun()


user = current_user()
actor = user[1] if user else None
principal = current_principal()
manager = actor is not None and allowed(principal, "manage_program")
scoring = actor is not None and allowed(principal, "review")  # trainers read the results, they do not score
filters = review_filter_sidebar() if manager else Filters()  # the queue's filters choose a session's conversations
st.title("校准")
show_flash()
if not manager:
    st.caption("校准会由质检主管或管理员创建" + ("；你被选为参加者后，任务会出现在“我的校准任务”里。" if scoring
                                    else "；评分由质检员进行，这里可以查看各场校准会的结果。"))
shown = [t for t in TABS if (t != TABS[0] or scoring) and (t != TABS[2] or manager)]
asked = st.session_state.get(TAB_KEY)
work = read(calibration.my_calibration_work, actor) if scoring else pd.DataFrame()
if asked not in shown and scoring and work.empty:
    asked = TABS[1]  # nothing to score: open on the sessions and their results
# keyed, so the tab chosen on arriving from the queue (its default) stays chosen on later reruns
tabs = dict(zip(shown, st.tabs(shown, default=asked if asked in shown else None, key="cal_tabs")))
with tabs[TABS[1]]:
    session_view(actor, manager)
    trend = read(calibration.calibration_trend)
    if len(trend) >= 1:
        st.markdown("**历次校准的一致性**")
        st.altair_chart(calibration_trend_chart(trend), width="stretch")
if manager:
    assert actor is not None
    with tabs[TABS[2]]:
        new_session(actor, filters)
if scoring:
    assert actor is not None
    with tabs[TABS[0]]:
        my_tasks(work)
