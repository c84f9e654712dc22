"""会话回放: one conversation as a chat with waits to scale, notes on its messages, the review panels beside it, and
previous/next in the queue. The chat comes first so it starts above the fold; the header is a few lines."""

from __future__ import annotations

import altair as alt
import pandas as pd
import streamlit as st

from qa.access import allowed, require_conversation
from qa.errors import HuifangError
from qa.review.annotations import list_annotations
from qa.review.queue import QueueCursor, conversation_reasons, neighbours, page_ids, queue_count
from qa.review.replay import (
    ROLE_NAMES,
    handoffs,
    handoffs_text,
    header_badges,
    load_replay,
    resolve_conversation,
    risk_sentence,
)
from scoring.responsiveness import duration_text
from ui.cache import cached_with_reviews, read
from ui.calibration_review import calibration_review, calibration_task
from ui.frame import require_frame
from ui.replay_chat import chat
from ui.replay_review import add_to_coaching, model_flags, notes_so_far, overall_review
from ui.replay_tags import tag_panel
from ui.scorecard_review import scorecard_review
from ui.state import REPLAY_KEY, flash, remember_queue, remembered_queue, show_flash
from ui.text import plain
from ui.user import current_principal, current_user

require_frame(__file__)


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


def _timeline(messages: pd.DataFrame) -> alt.LayerChart:
    """Messages as marks on a time axis, and each wait as a bar ending at its reply (red when over the SLA)."""
    df = messages.dropna(subset=["ts"]).assign(
        who=lambda d: d["role"].map(ROLE_NAMES).fillna(d["role"]), n=lambda d: d["seq"] + 1,
        preview=lambda d: d["text"].str.slice(0, 40))
    waits = df.dropna(subset=["wait_s"]).assign(
        start=lambda d: d["ts"] - pd.to_timedelta(d["wait_s"], unit="s"), who="等待",
        over=lambda d: d["sla_breach"].fillna(False).astype(bool), waited=lambda d: d["wait_s"].map(duration_text))
    y = alt.Y("who:N", title=None, sort=["顾客", "等待", "客服", "机器人", "系统"])
    long = df["ts"].max() - df["ts"].min() > pd.Timedelta(hours=12)
    x = alt.X("start:T", title=None, axis=alt.Axis(format="%m-%d %H:%M" if long else "%H:%M", tickCount=8,
                                                    labelOverlap=True))
    bars = alt.Chart(waits).mark_bar(height=8).encode(
        x=x, x2="ts:T", y=y,
        color=alt.condition("datum.over", alt.value("#d62728"), alt.value("#2ca02c")),
        tooltip=[alt.Tooltip("n:Q", title="回复 #"), alt.Tooltip("waited:N", title="等待")])
    points = alt.Chart(df).mark_circle(size=70).encode(
        x="ts:T", y=y, color=alt.Color("who:N", legend=None,
                                       scale=alt.Scale(domain=["顾客", "客服", "机器人", "系统"],
                                                       range=["#7f7f7f", "#1f77b4", "#bcbd22", "#c7c7c7"])),
        tooltip=[alt.Tooltip("n:Q", title="#"), alt.Tooltip("ts:T", title="时间", format="%H:%M:%S"),
                 alt.Tooltip("preview:N", title="内容")])
    return alt.layer(bars, points).properties(height=150)


principal = current_principal()
user = current_user()
show_flash()

asked = st.query_params.get("c")
if asked and asked != st.session_state.get("_replay_url"):  # a shared link ?c=<会话号>
    st.session_state["_replay_url"] = asked
    try:
        st.session_state[REPLAY_KEY] = read(resolve_conversation, asked)
    except HuifangError as e:
        st.error(plain(e))
cid = st.session_state.get(REPLAY_KEY)
if cid is None:  # with a conversation open the chat itself comes first, above the fold
    st.title("会话回放")
look = st.columns([2, 1])
look[0].text_input("会话号", key="replay_lookup", placeholder="输入会话号，回车打开", on_change=_open,
                   args=("replay_lookup",), label_visibility="collapsed")
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
        nav = look[1].columns([1, 1, 1], vertical_alignment="center")
        nav[0].button("上一条", key="replay_prev", icon=":material/arrow_back:", disabled=nb.prev is None,
                      on_click=_go, args=(nb.prev,), width="stretch")
        nav[1].button("下一条", key="replay_next", icon=":material/arrow_forward:", disabled=nb.next is None,
                      on_click=_go, args=(nb.next,), width="stretch")
        nav[2].caption(f"队列第 {nb.position} / {cached_with_reviews(queue_count, cursor.query):,} 条")

st.subheader(f"会话 {plain(h.external_id)}")
facts = [h.platform, h.shop, handoffs_text(handoffs(msgs, h.agent)), h.team, h.category,
         f"{h.started_at:%Y-%m-%d %H:%M} – {h.ended_at:%H:%M}" if h.started_at and h.ended_at else None,
         f"{h.message_count} 条消息"]
st.caption(" · ".join(plain(f) for f in facts if f))
st.markdown(" ".join(f":{'red' if bad else 'gray'}-badge[{label}]" for label, bad in header_badges(h)))
reasons = cached_with_reviews(conversation_reasons, cid,
                              principal.agent_name if principal is not None and allowed(principal, "answer_review") else None)
said = risk_sentence(h, msgs)
if reasons:
    st.caption(f"入队原因：{plain(reasons)}")
if said:
    st.caption(f"评分说明：{plain(said)}", help=plain(h.explanation) if h.explanation else None)

notes = read(list_annotations, cid)
task = calibration_task(cid, user[1]) if user is not None and allowed(principal, "review") else None
if task is not None:  # blind: the chat and the reviewer's own form, nothing anyone else made of it
    left, right = st.columns([3, 2], gap="large")
    with left:
        chat(cid, msgs, notes.iloc[:0], None)
    with right:
        calibration_review(task, user[1])
    st.stop()
left, right = st.columns([3, 2], gap="large")
with left:
    reviewer = user if user and allowed(principal, "review") else None
    chat(cid, msgs, notes, reviewer[0] if reviewer else None, reviewer[1] if reviewer else None)
with right:
    if msgs["ts"].notna().any():
        st.altair_chart(_timeline(msgs), width="stretch")
    notes_so_far(notes)
    tag_panel(cid, reviewer[1] if reviewer else None, msgs)
    if user is None or not allowed(principal, "review"):
        if user is not None and allowed(principal, "coach"):
            add_to_coaching(h, user[0], msgs)
        st.stop()
    uid, uname = user
    overall_review(cid, uid, uname)
    model_flags(cid, uid, msgs)
    if allowed(principal, "coach"):
        add_to_coaching(h, uid, msgs)

st.divider()
scorecard_review(cid, uname, msgs)
