"""会话回放: one conversation as a chat with waits to scale and scores, annotation, and previous/next in the queue."""

from __future__ import annotations

import time

import altair as alt
import pandas as pd
import streamlit as st

from qa.access import allowed, require_conversation
from qa.errors import HuifangError
from qa.review.annotations import (
    MESSAGE_TAGS,
    RUBRIC,
    RUBRIC_SCALE,
    VERDICTS,
    Review,
    StaleReviewError,
    add_message_note,
    delete_annotation,
    list_annotations,
    my_review,
    save_review,
    update_message_note,
)
from qa.review.coaching import KINDS, add_item, add_to_new_list, coaching_lists
from qa.review.labels import FLAGS, my_feedback, raised_flags, record_feedback
from qa.review.queue import QueueCursor, neighbours, page_ids, queue_count
from qa.review.replay import (
    ROLE_NAMES,
    chat_html,
    header_badges,
    load_replay,
    resolve_conversation,
)
from ui.cache import cached_with_reviews, engine, read
from ui.charts import int_text
from ui.frame import require_frame
from ui.state import REPLAY_KEY, flash, remember_queue, remembered_queue, show_flash
from ui.text import plain
from ui.user import current_principal, current_user

require_frame(__file__)

SPEEDS = {"×10": 10, "×60": 60, "×600": 600}
MAX_PAUSE_S = 1.0  # playback never waits longer than this between two messages
NEW_LIST = "＋ 新建清单…"


def _open(key: str) -> None:
    """Callback of the lookup box: open the conversation typed in."""
    try:
        st.session_state[REPLAY_KEY] = read(resolve_conversation, st.session_state[key])
    except HuifangError as e:
        flash(str(e), "error")


def _go(target: tuple[int, int]) -> None:
    """Callback of previous/next: show ``target`` (conversation id, queue page), loading that page when it changed."""
    cid, page = target
    cursor = remembered_queue()
    if cursor.page != page:
        remember_queue(QueueCursor(cursor.query, page, tuple(read(page_ids, cursor.query, page))))
    st.session_state[REPLAY_KEY] = cid


def _add_to_coaching(cid: int, agent: str | None, uid: int, lists: dict[str, int]) -> None:
    """Callback of "加入": put this conversation (or the chosen message) on a list, creating the list if asked."""
    ss = st.session_state
    kind, note, message = ss["coach_kind"], ss["coach_note"], ss["coach_message"]
    try:
        if ss["coach_list_pick"] == NEW_LIST:
            name = ss.get("coach_new_name", "").strip()
            add_to_new_list(engine(), name, cid, kind=kind, note=note, message_id=message, agent=agent, user_id=uid)
            ss["coach_list_pick"] = name  # the new list is the one picked from now on
        else:
            name = ss["coach_list_pick"]
            add_item(engine(), int(lists[name]), cid, kind=kind, note=note, message_id=message, user_id=uid)
    except HuifangError as e:
        flash(str(e), "error")
    else:
        flash(f"已作为{KINDS[kind]}加入培训清单“{name}”")


def _step(delta: int, n: int) -> None:
    st.session_state["replay_step"] = min(max(st.session_state["replay_step"] + delta, 1), n)


def _timeline(messages: pd.DataFrame) -> alt.LayerChart:
    """Messages as marks on a time axis, and each wait as a bar ending at its reply (red when over the SLA)."""
    df = messages.dropna(subset=["ts"]).assign(
        who=lambda d: d["role"].map(ROLE_NAMES).fillna(d["role"]), n=lambda d: d["seq"] + 1,
        preview=lambda d: d["text"].str.slice(0, 40))
    waits = df.dropna(subset=["wait_s"]).assign(
        start=lambda d: d["ts"] - pd.to_timedelta(d["wait_s"], unit="s"), who="等待",
        over=lambda d: d["sla_breach"].fillna(False).astype(bool), minutes=lambda d: d["wait_s"] / 60)
    y = alt.Y("who:N", title=None, sort=["顾客", "等待", "客服", "机器人", "系统"])
    long = df["ts"].max() - df["ts"].min() > pd.Timedelta(hours=12)
    x = alt.X("start:T", title=None, axis=alt.Axis(format="%m-%d %H:%M" if long else "%H:%M", tickCount=8,
                                                    labelOverlap=True))
    bars = alt.Chart(waits).mark_bar(height=8).encode(
        x=x, x2="ts:T", y=y,
        color=alt.condition("datum.over", alt.value("#d62728"), alt.value("#2ca02c")),
        tooltip=[alt.Tooltip("n:Q", title="回复 #"), alt.Tooltip("minutes:Q", title="等待（分钟）", format=".1f")])
    points = alt.Chart(df).mark_circle(size=70).encode(
        x="ts:T", y=y, color=alt.Color("who:N", legend=None,
                                       scale=alt.Scale(domain=["顾客", "客服", "机器人", "系统"],
                                                       range=["#7f7f7f", "#1f77b4", "#bcbd22", "#c7c7c7"])),
        tooltip=[alt.Tooltip("n:Q", title="#"), alt.Tooltip("ts:T", title="时间", format="%H:%M:%S"),
                 alt.Tooltip("preview:N", title="内容")])
    return alt.layer(bars, points).properties(height=150)


def _coaching_form(cid: int, agent: str | None, uid: int, labels: dict[int, str]) -> None:
    """The "加入培训清单" form (trainers, QA managers and admins)."""
    with st.expander("加入培训清单", expanded=False):
        lists = read(coaching_lists)
        by_name = dict(zip(lists["name"], lists["id"], strict=True))
        target = st.selectbox("清单", [*by_name, NEW_LIST], key="coach_list_pick")
        if target == NEW_LIST:
            st.text_input("新清单名称", key="coach_new_name", placeholder=f"例如 {agent or '坐席'} · {h.category or '话术'}")
        st.radio("类型", list(KINDS), format_func=KINDS.get, horizontal=True, key="coach_kind")
        st.selectbox("针对的消息（可选）", [None, *labels], format_func=lambda m: "整段会话" if m is None else labels[m],
                     key="coach_message")
        st.text_input("要点", key="coach_note", placeholder="这段对话好在哪 / 问题在哪")
        st.button("加入", key="coach_add", on_click=_add_to_coaching, args=(cid, agent, uid, by_name))


principal = current_principal()
user = current_user()
st.title("会话回放")
show_flash()

look = st.columns([3, 1])
look[0].text_input("会话号或 ID", key="replay_lookup", placeholder="输入会话号（或队列里的 ID），回车打开", on_change=_open,
                   args=("replay_lookup",), label_visibility="collapsed")
asked = st.query_params.get("c")
if asked and asked != st.session_state.get("_replay_url"):  # a shared link ?c=<会话号>
    st.session_state["_replay_url"] = asked
    try:
        st.session_state[REPLAY_KEY] = read(resolve_conversation, asked)
    except HuifangError as e:
        st.error(plain(e))
cid = st.session_state.get(REPLAY_KEY)
if cid is None:
    st.info("从“质检队列”点选一条会话，或在上面输入会话号。")
    st.stop()
try:
    read(require_conversation, principal, cid)  # an agent opens only their own conversations
    rp = cached_with_reviews(load_replay, cid)
except HuifangError as e:
    st.error(plain(e))
    st.stop()
h, msgs = rp.header, rp.messages
st.query_params["c"] = st.session_state["_replay_url"] = h.external_id

cursor = remembered_queue()
if cursor is not None:
    nb = read(neighbours, cursor.query, cursor.page, cursor.ids, cid)
    if nb.position is not None:
        nav = look[1].columns(2)
        nav[0].button("上一条", key="replay_prev", icon=":material/arrow_back:", disabled=nb.prev is None,
                      on_click=_go, args=(nb.prev,), width="stretch")
        nav[1].button("下一条", key="replay_next", icon=":material/arrow_forward:", disabled=nb.next is None,
                      on_click=_go, args=(nb.next,), width="stretch")
        look[1].caption(f"队列第 {nb.position} / {cached_with_reviews(queue_count, cursor.query):,} 条")

st.subheader(f"会话 {plain(h.external_id)}")
facts = [h.platform, h.shop, f"坐席 {h.agent}" if h.agent else None, h.team, h.category,
         f"{h.started_at:%Y-%m-%d %H:%M} – {h.ended_at:%H:%M}" if h.started_at and h.ended_at else None,
         f"{h.message_count} 条消息"]
st.caption(" · ".join(plain(f) for f in facts if f))
st.markdown(" ".join(f":{'red' if bad else 'gray'}-badge[{label}]" for label, bad in header_badges(h)))
if h.explanation:
    st.caption(f"评分说明：{plain(h.explanation)}")

if msgs["ts"].notna().any():
    st.altair_chart(_timeline(msgs), width="stretch")

left, right = st.columns([3, 2], gap="large")
n = len(msgs)
if st.session_state.get("_replay_step_for") != cid or "replay_step" not in st.session_state:
    st.session_state["_replay_step_for"] = cid
    st.session_state["replay_step"] = n
with left:
    upto = st.slider(f"显示到第几条（共 {n} 条）", 1, max(n, 2), key="replay_step", disabled=n < 2)
    ctl = st.columns(4, vertical_alignment="bottom")
    ctl[0].button("上一句", key="replay_back", on_click=_step, args=(-1, n), icon=":material/undo:", width="stretch")
    ctl[1].button("下一句", key="replay_fwd", on_click=_step, args=(1, n), icon=":material/redo:", width="stretch")
    speed = ctl[2].selectbox("速度", list(SPEEDS), key="replay_speed", label_visibility="collapsed")
    play = ctl[3].button("播放", key="replay_play", icon=":material/play_arrow:", width="stretch",
                         help="按真实时间间隔加速回放（每步最多停 1 秒）")
    chat = st.container(height=640)
    with chat:
        shown = st.empty()
        if play:
            for i in range(1, n + 1):
                shown.markdown(chat_html(msgs, i), unsafe_allow_html=True)
                if i < n:
                    gap = (msgs["offset_s"].iloc[i] - msgs["offset_s"].iloc[i - 1]) if msgs["ts"].notna().all() else 1
                    time.sleep(min(max(gap, 0) / SPEEDS[speed], MAX_PAUSE_S))
        else:
            shown.markdown(chat_html(msgs, upto), unsafe_allow_html=True)

labels = {int(m.id): f"#{m.seq + 1} {ROLE_NAMES.get(m.role, m.role)}：{m.text[:24]}" for m in msgs.itertuples()}
with right:
    notes = read(list_annotations, cid)
    st.markdown(f"**已有批注（{len(notes)}）**")
    if notes.empty:
        st.caption("还没有人评审这条会话。")
    else:
        table = notes.fillna({"rubric_item": "", "verdict": "", "tags": "", "comment": ""}).assign(
            score=int_text(notes["score"]))
        st.dataframe(table, hide_index=True,
                     column_order=["reviewer", "target", "rubric_item", "score", "verdict", "tags", "comment",
                                   "updated_at"],
                     column_config={"reviewer": "评审人", "target": "对象", "rubric_item": "评分项",
                                    "score": "分",
                                    "verdict": "结论", "tags": "标签", "comment": "评语",
                                    "updated_at": st.column_config.DatetimeColumn("时间", format="MM-DD HH:mm")})
    if user is None or not allowed(principal, "review"):
        if allowed(principal, "coach") and user is not None:
            _coaching_form(cid, h.agent, user[0], labels)
        st.stop()
    uid, uname = user
    # Prefill with this reviewer's earlier review (again after another page: widgets forget their state there).
    if st.session_state.get("_review_form_for") != (cid, uid) or "review_verdict" not in st.session_state:
        st.session_state["_review_form_for"] = (cid, uid)
        mine = read(my_review, cid, uid) or Review()
        for i, item in enumerate(RUBRIC):
            st.session_state[f"rubric_{i}"] = mine.scores.get(item)
        st.session_state["review_verdict"] = mine.verdict
        st.session_state["review_comment"] = mine.comment
        st.session_state["_review_based_on"] = mine.version  # a save based on an older version is refused
    with st.form("review_form"):
        st.markdown(f"**整体评审**（{plain(uname)}）")
        scale = list(range(RUBRIC_SCALE[0], RUBRIC_SCALE[1] + 1))
        scores = {item: st.segmented_control(item, scale, key=f"rubric_{i}") for i, item in enumerate(RUBRIC)}
        verdict = st.segmented_control("结论", VERDICTS, key="review_verdict")
        comment = st.text_area("评语", key="review_comment", height=80)
        if st.form_submit_button("保存评审", type="primary"):
            try:
                save_review(engine(), cid, uid, Review({k: v for k, v in scores.items() if v is not None},
                                                       verdict, comment),
                            base_version=st.session_state.get("_review_based_on", 0))
            except StaleReviewError as e:
                st.error(plain(e))
                # Seen now: a second click is a conscious overwrite of that newer version, not a silent one.
                st.session_state["_review_based_on"] = e.current.version if e.current else 0
                st.caption("你的内容还在表单里；再点一次“保存评审”会用它覆盖上面的最新版本。")
            except HuifangError as e:
                st.error(plain(e))
            else:
                flash(f"已保存 {uname} 的评审" + (f"（结论：{verdict}）" if verdict else ""))
                st.rerun()

    with st.expander("给单条消息批注", expanded=False):
        msg_id = st.selectbox("消息", list(labels), format_func=labels.get, key="note_message")
        tags = st.multiselect("标签", MESSAGE_TAGS, key="note_tags", placeholder="选择标签（可多选）")
        text = st.text_input("批注", key="note_comment")
        if st.button("添加批注", key="note_add"):
            try:
                add_message_note(engine(), cid, msg_id, uid, text, tags)
            except HuifangError as e:
                st.error(plain(e))
            else:
                flash(f"已添加批注到 {labels[msg_id].split('：')[0]}")
                st.rerun()
        own = notes[(notes["reviewer_id"] == uid) & notes["message_id"].notna()]
        if not own.empty:
            st.divider()
            edit = {int(r.id): f"{r.target}：{r.tags or ''} {r.comment}" for r in own.itertuples()}
            chosen = st.selectbox("编辑我的批注", list(edit), format_func=edit.get, key="note_edit")
            row = own[own["id"] == chosen].iloc[0]
            new_text = st.text_input("批注内容", value=row.comment, key=f"note_edit_text_{chosen}")
            new_tags = st.multiselect("标签", MESSAGE_TAGS, default=[t for t in row.tags.split("，") if t in MESSAGE_TAGS],
                                      key=f"note_edit_tags_{chosen}", placeholder="选择标签（可多选）")
            b1, b2 = st.columns(2)
            try:
                if b1.button("更新", key="note_update"):
                    update_message_note(engine(), chosen, uid, new_text, new_tags)
                    flash("批注已更新")
                    st.rerun()
                if b2.button("删除", key="note_delete"):
                    delete_annotation(engine(), chosen, uid)
                    flash("批注已删除")
                    st.rerun()
            except HuifangError as e:
                st.error(plain(e))

    flags = raised_flags(msgs)
    with st.expander(f"模型预警复核（{len(flags)}）", expanded=False):
        st.caption("模型在这些消息上预警。点“确认”或“误报”：这些判断会在 `huifang train --from-db` 时用来改进模型"
                   "（只有在留出数据上更好才会启用）。给消息打“语气生硬”“答非所问”“优秀话术”等标签也会被采用。")
        if not flags:
            st.caption("这条会话没有模型预警。")
        given = read(my_feedback, cid, uid)
        for message_id, seq, field, score in flags:
            row = st.columns([3, 1, 1], vertical_alignment="center")
            verdict = given.get((message_id, field))
            mark = "" if verdict is None else ("（已确认）" if verdict else "（已标为误报）")
            said = msgs.loc[msgs["id"] == message_id, "text"].iloc[0][:30]
            row[0].markdown(f"#{seq + 1} {FLAGS[field].name} {score:.2f}{mark}：{plain(said)}")
            for col, agrees, label in ((row[1], True, "确认"), (row[2], False, "误报")):
                if col.button(label, key=f"flag_{message_id}_{field}_{int(agrees)}", disabled=verdict is agrees):
                    try:
                        record_feedback(engine(), message_id, uid, field, agrees)
                    except HuifangError as e:
                        st.error(plain(e))
                    else:
                        flash(f"已记录：#{seq + 1} {FLAGS[field].name} {label}")
                        st.rerun()

    if allowed(principal, "coach"):
        _coaching_form(cid, h.agent, uid, labels)
