"""质检队列: conversations ranked by review priority with reasons; sampling, assignment and "my queue"."""

from __future__ import annotations

import math
import random
import zlib

import streamlit as st

from qa.access import allowed, scope_filters
from qa.analytics.exports import frame_csv, frames_excel
from qa.errors import HuifangError
from qa.program.reports import conversation_report, review_report
from qa.review.queue import (
    PAGE_SIZE,
    SAMPLE_MODES,
    STATUS_DONE,
    STATUS_TODO,
    QueueCursor,
    QueueQuery,
    assign,
    queue_count,
    queue_page,
)
from qa.review.users import list_users
from ui.cache import cached_with_reviews, engine, read
from ui.charts import int_text, score_label
from ui.filters import review_filter_sidebar
from ui.frame import require_frame
from ui.state import flash, open_new_calibration, open_replay, remember_queue, remembered_queue, show_flash
from ui.text import plain
from ui.user import current_principal, current_user

require_frame(__file__)

VIEWS = ("全部会话", "我的队列")
STATUSES = {"待审": STATUS_TODO, "已完成": STATUS_DONE, "全部": None}
# Widths in pixels so that the table fits the page at 1440 px (issue #13): the shop and team are in the replay and the
# sidebar filters, and whether a conversation is reviewed and to whom it is assigned share one cell.
COLUMNS = {
    "priority": st.column_config.NumberColumn("优先级", format="%.2f", width=55, help="不满风险 + 各项原因的权重"),
    "reasons": st.column_config.TextColumn("原因", width=235, help="完整原因见回放页"),
    "external_id": st.column_config.TextColumn("会话号", width=125),
    "agent": st.column_config.TextColumn("坐席", width=75),
    "platform": st.column_config.TextColumn("平台", width=45),
    "category": st.column_config.TextColumn("分类", width=95),
    "csat": st.column_config.TextColumn("CSAT", width=45),
    "risk": st.column_config.ProgressColumn(score_label("dissatisfaction_risk"), min_value=0.0, max_value=1.0,
                                            format="%.2f", width=70),
    "started_at": st.column_config.DatetimeColumn("开始时间", format="MM-DD HH:mm", width=80),
    "review": st.column_config.TextColumn("复核 · 分配", width=100),
}

user = current_user()
principal = current_principal()
filters = scope_filters(principal, review_filter_sidebar())  # an agent's queue holds only their conversations
own = allowed(principal, "answer_review")  # an agent: their own conversations, with no sampling or assigning to do
st.title("我的会话" if own else "质检队列")
show_flash()

# Widgets forget their state on other pages: coming back from replay, show the queue that was left.
cursor = remembered_queue()
controls = {"queue_view": VIEWS[0], "queue_mode": "ranked", "queue_rate": 10, "queue_quota": 5,
            "queue_seed": random.randint(1, 9999), "queue_status": "待审"}
if cursor is not None:
    left = cursor.query
    controls |= {"queue_view": VIEWS[left.reviewer_id is not None], "queue_mode": left.mode,
                 "queue_rate": round(left.rate * 100), "queue_quota": left.quota, "queue_seed": left.seed,
                 "queue_status": next(k for k, v in STATUSES.items() if v == left.status)}
arrived = "queue_mode" not in st.session_state  # first run on this page since another page
for key, value in controls.items():
    if arrived or key not in st.session_state:  # a hidden widget's stale value must not come back either
        st.session_state[key] = value

rate = quota = None
if own:
    view, mode, seed = VIEWS[0], "ranked", st.session_state["queue_seed"]
    st.caption("你负责（或参与）的会话，按质检优先级排列；点开可回放，评审结果和申诉在“申诉”页。")
else:
    top = st.columns([2, 2, 2, 1])
    view = top[0].segmented_control("视图", VIEWS, key="queue_view") or VIEWS[0]
    mode = top[1].selectbox("抽样方式", list(SAMPLE_MODES), format_func=SAMPLE_MODES.get, key="queue_mode")
    if mode in ("random", "risk"):
        rate = top[2].slider("抽样比例 %", 1, 100, key="queue_rate")
    elif mode in ("quota", "draw"):
        quota = top[2].number_input("每个坐席 k 条" if mode == "quota" else "抽取 N 条", 1, 500, key="queue_quota")
    seed = top[3].number_input("抽样编号", 0, 999_999, key="queue_seed", disabled=mode == "ranked",
                               help="随机抽样用的编号：同一编号、同一筛选 = 同一批会话，可复现；换一个编号换一批")

reviewer_id = status = None
if view == "我的队列":
    if user is None:
        st.info("请先在侧边栏选择“当前用户”，再查看分配给你的会话。")
        st.stop()
    reviewer_id = user[0]
    status = STATUSES[st.radio("状态", list(STATUSES), horizontal=True, key="queue_status")]

query = QueueQuery(filters, mode, (rate or 10) / 100, int(quota or 5), int(seed), reviewer_id, status,
                   for_agent=principal.agent_name if own and principal is not None else None)
total = cached_with_reviews(queue_count, query)
pages = max(1, math.ceil(total / PAGE_SIZE))

st.markdown(f"**共 {total:,} 条会话** · {query.describe_sample()} · 筛选：{plain(filters.describe())}")
if total == 0:
    st.info("没有符合条件的会话：放宽侧边栏的筛选，或换一种抽样方式。")
    st.stop()

back_at = min(cursor.page, pages) if cursor is not None and cursor.query == query else 1  # back from replay
# One pagination widget per query: a changed filter or sample starts again at page 1.
page_key = f"queue_page_{zlib.crc32(repr(query).encode())}"
page = st.pagination(pages, default=back_at, key=page_key) if pages > 1 else 1
df = cached_with_reviews(queue_page, query, page)
remember_queue(QueueCursor(query, page, tuple(int(i) for i in df["id"])))
st.caption(f"第 {page} / {pages} 页，每页 {PAGE_SIZE} 条。点选一行即可回放，回放页可直接上一条/下一条。")
event = st.dataframe(df.assign(csat=int_text(df["csat"])), key="queue_table", on_select="rerun",
                     selection_mode="single-row", hide_index=True, column_order=list(COLUMNS), column_config=COLUMNS,
                     height=600)
if event.selection.rows:
    open_replay(int(df["id"].iloc[event.selection.rows[0]]))
if st.button("从本页第一条开始回放", key="queue_open_first", icon=":material/play_arrow:"):
    open_replay(int(df["id"].iloc[0]))

if user is not None and allowed(principal, "assign"):
    with st.expander("分配给质检员"):
        users = {name: uid for uid, name, role in read(list_users)
                 if role in ("admin", "qa_manager", "reviewer") and (allowed(principal, "assign_others") or uid == user[0])}
        who = st.selectbox("质检员", list(users), key="assign_reviewer")
        limit = st.number_input(f"只分配前 N 条（0 = 全部 {total:,} 条）", 0, total, 0, key="assign_limit")
        if st.button("分配", key="assign_go", disabled=who is None):
            try:
                added = assign(engine(), query, users[who], int(limit) or None, by=principal)
            except HuifangError as e:
                st.error(plain(e))
            else:
                flash(f"已分配 {added:,} 条新会话给 {who}（{query.describe_sample()}）；已分配过的未重复分配。")
                st.rerun()

if allowed(principal, "manage_program") and st.button("用当前筛选新建校准会", key="queue_calibrate",
                                                      icon=":material/balance:"):
    open_new_calibration(filters)

with st.expander("导出当前筛选"):
    st.caption(f"按侧边栏的筛选（{plain(filters.describe())}）导出，不受抽样影响；消息与评语中的手机号等个人信息已脱敏。")
    stamp = f"{filters.start or ''}_{filters.end or ''}".strip("_") or "全部"
    for label, report, name in (("会话报表", conversation_report, "会话报表"), ("复核明细", review_report, "复核明细")):
        left, right = st.columns(2)
        left.download_button(f"{label}（CSV）", lambda r=report: frame_csv(read(r, filters)),
                             file_name=f"{name}_{stamp}.csv", mime="text/csv", key=f"export_{name}_csv")
        right.download_button(f"{label}（Excel）", lambda r=report, n=name: frames_excel({n: read(r, filters)}),
                              file_name=f"{name}_{stamp}.xlsx", key=f"export_{name}_xlsx",
                              mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
