"""The replay's review panels beside the chat: notes so far, the overall review, the models' flags, coaching.

Each panel is one function drawing one expander with its own key, so the page lists them in order and another
panel (a scorecard review) can be added beside them. The expanders' open state is kept in session state: saving a
review redraws the page, and a panel the reviewer had open stays open.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from qa.errors import HuifangError
from qa.review.annotations import RUBRIC, RUBRIC_SCALE, VERDICTS, Review, StaleReviewError, my_review, save_review
from qa.review.coaching import KINDS, add_item, add_to_new_list, coaching_lists
from qa.review.labels import FLAGS, my_feedback, raised_flags, record_feedback
from qa.review.replay import ROLE_NAMES, Header
from ui.cache import engine, read
from ui.charts import int_text
from ui.state import flash
from ui.text import plain

__all__ = ["add_to_coaching", "model_flags", "notes_so_far", "overall_review"]

NEW_LIST = "＋ 新建清单…"


def notes_so_far(notes: pd.DataFrame) -> None:
    """Every annotation on the conversation as a table (notes on messages also show under them in the chat)."""
    st.markdown(f"**已有批注（{len(notes)}）**")
    if notes.empty:
        st.caption("还没有人评审这条会话。")
        return
    table = notes.fillna({"rubric_item": "", "verdict": "", "tags": "", "comment": ""}).assign(
        score=int_text(notes["score"]))
    st.dataframe(table, hide_index=True,
                 column_order=["reviewer", "target", "rubric_item", "score", "verdict", "tags", "comment",
                               "updated_at"],
                 column_config={"reviewer": "评审人", "target": "对象", "rubric_item": "评分项", "score": "分",
                                "verdict": "结论", "tags": "标签",
                                "comment": st.column_config.TextColumn("评语", width="large"),
                                "updated_at": st.column_config.DatetimeColumn("时间", format="MM-DD HH:mm")})


def _prefill(cid: int, uid: int) -> None:
    """Fill the form with this reviewer's earlier review (again after another page: widgets forget it there)."""
    ss = st.session_state
    if ss.get("_review_form_for") != (cid, uid) or "review_verdict" not in ss:
        ss["_review_form_for"] = (cid, uid)
        mine = read(my_review, cid, uid) or Review()
        for i, item in enumerate(RUBRIC):
            ss[f"rubric_{i}"] = mine.scores.get(item)
        ss["review_verdict"] = mine.verdict
        ss["review_comment"] = mine.comment
        ss["_review_based_on"] = mine.version  # a save based on an older version is refused


def overall_review(cid: int, uid: int, uname: str) -> None:
    """The rubric, verdict and comment of the signed-in reviewer on the whole conversation."""
    _prefill(cid, uid)
    with st.expander(f"整体评审（{plain(uname)}）", expanded=True, key="replay_review_open", on_change="rerun"):
        with st.form("review_form", border=False):
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


def model_flags(cid: int, uid: int, msgs: pd.DataFrame) -> None:
    """The models' flags on this conversation's messages, each for the reviewer to confirm or call a false alarm."""
    flags = raised_flags(msgs)
    with st.expander(f"模型预警复核（{len(flags)}）", key="replay_flags_open", on_change="rerun"):
        st.caption("模型在这些消息上预警。点“确认”或“误报”：管理员重新训练模型（`huifang train --from-db`）时会用这些判断"
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


def add_to_coaching(h: Header, uid: int, msgs: pd.DataFrame) -> None:
    """Put the conversation, or one of its messages, on a coaching list as a good or bad example."""
    labels = {int(m.id): f"#{m.seq + 1} {ROLE_NAMES.get(m.role, m.role)}：{m.text[:24]}" for m in msgs.itertuples()}
    with st.expander("加入培训清单", key="replay_coach_open", on_change="rerun"):
        lists = read(coaching_lists)
        by_name = dict(zip(lists["name"], lists["id"], strict=True))
        target = st.selectbox("清单", [*by_name, NEW_LIST], key="coach_list_pick")
        if target == NEW_LIST:
            st.text_input("新清单名称", key="coach_new_name", placeholder=f"例如 {h.agent or '坐席'} · {h.category or '话术'}")
        st.radio("类型", list(KINDS), format_func=KINDS.get, horizontal=True, key="coach_kind")
        st.selectbox("针对的消息（可选）", [None, *labels], format_func=lambda m: "整段会话" if m is None else labels[m],
                     key="coach_message")
        st.text_input("要点", key="coach_note", placeholder="这段对话好在哪 / 问题在哪")
        st.button("加入", key="coach_add", on_click=_add_to_coaching, args=(h.id, h.agent, uid, by_name))
