"""The replay's scorecard review: the conversation's scorecard, auto-QA's proposals with their evidence, the score
computed as the reviewer rates, saved through ``qa.program.reviews``.

A section of its own so the replay page only calls it; everything it reads and writes goes through ``qa.program``.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from qa.program import autoqa, reviews, store
from qa.review.replay import ROLE_NAMES
from ui.cache import engine, read
from ui.scorecard_form import bonus_note, load_form, rate_scorecard, show_score, submit_form
from ui.text import plain

__all__ = ["scorecard_review", "message_labels"]

PREFIX = "scr"
REVIEW_COLUMNS: dict[str, Any] = {
    "reviewer": "评审人", "scorecard": "评分表", "version": "版本",
    "score": st.column_config.NumberColumn("最终得分", format="%.1f"), "fatal_failed": "致命项未过",
    "dispute_status": "申诉", "comment": "评语",
    "updated_at": st.column_config.DatetimeColumn("时间", format="MM-DD HH:mm"),
    "acknowledged_at": st.column_config.DatetimeColumn("坐席确认", format="MM-DD HH:mm"),
}


def message_labels(messages: pd.DataFrame) -> dict[int, str]:
    """Each message as evidence points at it: "#3 客服：亲，在的…"."""
    return {int(m.id): f"#{m.seq + 1} {ROLE_NAMES.get(m.role, m.role)}：{str(m.text)[:20]}"
            for m in messages.itertuples()}


def _save(cid: int, stored: store.StoredScorecard, ratings: dict, actor: str,
          proposals: dict[str, autoqa.Proposal]) -> None:
    def write(base_version: int) -> None:
        reviews.save_review(engine(), cid, stored.version_id, ratings, actor, st.session_state.get("scr_comment", ""),
                            proposals={k: p.rating.value for k, p in proposals.items()}, base_version=base_version)

    submit_form(PREFIX, "保存评分表评审", write, f"已保存 {actor} 的评分表评审（{stored.card.name} 第 {stored.version} 版）")


def scorecard_review(cid: int, actor: str, messages: pd.DataFrame) -> None:
    """The section: others' reviews of this conversation, then ``actor``'s review form on its scorecard."""
    st.markdown("**评分表评审**")  # bold like the replay's other sections: the page has one heading per conversation
    done = read(reviews.conversation_reviews, cid)
    if not done.empty:
        st.dataframe(done, hide_index=True, column_order=list(REVIEW_COLUMNS), column_config=REVIEW_COLUMNS,
                     key="scr_reviews")
        bonus_note(done["score"])
    mine = read(reviews.my_review, cid, actor)
    stored = mine.scorecard if mine is not None else read(store.choose_scorecard, cid)
    if stored is None:
        st.info("没有评分表适用于这条会话：请在“评分表”页添加选择规则（按技能组、分类或平台）。")
        return
    proposals = read(autoqa.proposals, cid, stored.card)
    auto = read(autoqa.auto_score, cid)
    facts = [f"评分表“{stored.card.name}”第 {stored.version} 版"]
    if mine is not None:
        facts.append("你之前的评审（保存即更新）")
    if auto is not None and auto.score is not None:
        facts.append(f"自动质检得分 {auto.score:.1f}（自动填写 {auto.criteria} 项）")
    elif not proposals:
        facts.append("还没有自动质检结果（评分完成后自动运行）")
    st.caption(" · ".join(plain(f) for f in facts))
    status = mine.dispute_status if mine is not None else None
    locked = status is not None
    if locked:
        st.info(f"这条评审已被申诉（{status}）：由质检主管在“申诉”页处理，不能再修改。")
    # Not the stored version: a review saved meanwhile elsewhere must not silently replace what is being typed
    # here; the save is refused as stale instead, showing it (qa.program.reviews).
    owner = (cid, actor, stored.version_id)
    initial = mine.ratings if mine is not None else {k: p.rating for k, p in proposals.items()}
    if st.session_state.get(f"_{PREFIX}_for") != owner:
        st.session_state["scr_comment"] = mine.comment if mine is not None else ""
    load_form(PREFIX, owner, stored.card, initial, mine.version if mine is not None else 0)
    form, score = st.columns([3, 1], gap="large")
    with form:
        ratings = rate_scorecard(stored.card, PREFIX, proposals, message_labels(messages), disabled=locked)
        st.text_area("评语", key="scr_comment", height=80, disabled=locked)
    with score:
        show_score(stored.card, ratings)
        if not locked and st.button("保存评分表评审", key="scr_save", type="primary"):
            _save(cid, stored, ratings, actor, proposals)
