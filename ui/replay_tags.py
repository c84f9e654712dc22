"""The replay's 标签 panel: the conversation's tags from the tag tree, each with where it came from and why (the
keyword and the customer's phrase, or the category), then the tags on single messages (the rules tag the customer
line they matched), and a reviewer's confirm and remove on each, and add on the conversation.

Everything it reads and writes goes through ``qa.program.tag_store``, which checks the reviewer's role itself.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from qa.errors import HuifangError
from qa.program.tag_store import SOURCES, AssignedTag, Target, current_tree, judge_tag, tags_of
from qa.program.tags import TagTree
from qa.review.replay import ROLE_NAMES
from ui.cache import engine, read
from ui.state import flash
from ui.text import plain

__all__ = ["tag_line", "tag_panel"]


def tag_line(tree: TagTree, tag: AssignedTag) -> str:
    """One tag as the panel lists it: 物流 › 破损 · 规则 · 待确认."""
    state = "已确认" if tag.confirmed else "待确认"
    return f"{tree.path(tag.tag_id)} · {SOURCES.get(tag.source, tag.source)} · {state}"


def _judge(cid: int, tag_id: int, right: bool, actor: str, done: str, target: Target = "conversation") -> None:
    """Callback of 确认 / 移除 / 添加 (``cid``: the conversation's or, for a message's tag, the message's id)."""
    try:
        judge_tag(engine(), target, cid, tag_id, right, actor)
    except HuifangError as e:
        flash(str(e), "error")
    else:
        flash(done)


def _add(cid: int, actor: str, paths: dict[int, str]) -> None:
    tag_id = st.session_state.get("ctag_pick")
    if tag_id is None:
        flash("请先选择要添加的标签", "error")
        return
    _judge(cid, tag_id, True, actor, f"已添加标签“{paths[tag_id]}”")
    st.session_state["ctag_pick"] = None


def _tag(tree: TagTree, tag: AssignedTag, target_id: int, actor: str | None, target: Target, where: str = "") -> None:
    """One tag with its evidence and, for a reviewer, 确认 and 移除 under it (the replay's right column is too narrow
    for three side by side)."""
    path = tree.path(tag.tag_id)
    st.markdown(plain(f"{where}{tag_line(tree, tag)}"))
    if tag.evidence:
        st.caption(plain(tag.evidence))
    if actor is None:
        return
    prefix = "ctag" if target == "conversation" else f"mtag_{target_id}"
    row = st.container(horizontal=True)
    row.button("确认", key=f"{prefix}_ok_{tag.tag_id}", disabled=tag.confirmed, on_click=_judge,
               args=(target_id, tag.tag_id, True, actor, f"已确认{where}标签“{path}”", target), icon=":material/check:")
    row.button("移除", key=f"{prefix}_rm_{tag.tag_id}", on_click=_judge, icon=":material/close:",
               args=(target_id, tag.tag_id, False, actor, f"已移除{where}标签“{path}”（规则不会再打上）", target))


def tag_panel(cid: int, actor: str | None, messages: pd.DataFrame) -> None:
    """The conversation's tags, then its messages' ones; ``actor`` (a reviewer) may confirm, remove or add them,
    anyone else only reads."""
    tree = read(current_tree)
    assigned = read(tags_of, "conversation", [cid], tree)[cid]
    on_messages = read(tags_of, "message", [int(i) for i in messages["id"]], tree)
    count = len(assigned) + sum(len(t) for t in on_messages.values())
    with st.expander(f"标签（{count}）", expanded=True, key="replay_tags_open", on_change="rerun"):
        if not count:
            st.caption("还没有标签：评分时按标签树的关键词规则和分类模型自动打上，也可以在下面添加。")
        for tag in assigned:
            _tag(tree, tag, cid, actor, "conversation")
        for m in messages.itertuples():
            for tag in on_messages.get(int(m.id), []):
                _tag(tree, tag, int(m.id), actor, "message", f"#{m.seq + 1} {ROLE_NAMES.get(m.role, m.role)} · ")
        if actor is None:
            return
        paths = tree.paths()
        have = {t.tag_id for t in assigned}
        pick, add = st.columns([6, 2], vertical_alignment="bottom")
        pick.selectbox("添加标签", [t for t in paths if t not in have], index=None, format_func=paths.__getitem__,
                       key="ctag_pick", placeholder="选择标签，如 物流 › 时效")
        add.button("添加", key="ctag_add", on_click=_add, args=(cid, actor, paths), width="stretch")
