"""The replay in calibration mode: a reviewer scores one conversation of an open calibration session, blind.

The task list on 校准 links to ``replay?c=<会话号>&cal=<校准会 id>``. Blind means nothing anyone else made of the
conversation is on screen — no reviews, notes or auto-QA proposals, only the chat and the reviewer's own form —
so the score is the reviewer's own and the session measures how far reviewers agree.
"""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from qa.program import calibration, reviews, store
from ui.cache import engine, read
from ui.scorecard_form import load_form, rate_scorecard, show_score, submit_form
from ui.text import plain

__all__ = ["CAL_PARAM", "calibration_review", "calibration_task", "task_links"]

CAL_PARAM = "cal"
PREFIX = "cal"


def task_links(work: pd.DataFrame) -> None:
    """One link into the replay per task of ``calibration.my_calibration_work``, marked 已评/未评."""
    for task in work.itertuples(index=False):
        st.page_link("pages/replay.py", query_params={"c": task.external_id, CAL_PARAM: str(task.session_id)},
                     label=plain(f"{task.session} · 会话 {task.external_id} · {'已评' if task.done else '未评'}"),
                     icon=":material/task_alt:" if task.done else ":material/rate_review:")


def calibration_task(cid: int, actor: str) -> Any:
    """The open task of ``actor`` on conversation ``cid`` the replay was opened for (``?cal=``), or None — then the
    replay is the ordinary one (the link led elsewhere since, or the session has closed)."""
    asked = st.query_params.get(CAL_PARAM)
    if not asked:
        return None
    work = read(calibration.my_calibration_work, actor)
    hit = work[(work["session_id"].astype(str) == asked) & (work["conversation_id"] == cid)]
    if hit.empty:
        del st.query_params[CAL_PARAM]
        return None
    return next(hit.itertuples(index=False))


def calibration_review(task: Any, actor: str) -> None:
    """The blind form: ``actor``'s ratings of the task's conversation on the session's scorecard version."""
    sid, cid = int(task.session_id), int(task.conversation_id)
    info = read(calibration.session_info, sid)
    stored = read(store.load_version, info.version_id)
    mine = read(reviews.my_review, cid, actor, sid)
    st.markdown(f"**校准评分（盲评）：{plain(task.session)}**")
    st.caption(plain(f"评分表“{stored.card.name}”第 {stored.version} 版 · 评分期间看不到其他人的分数和批注，"
                     "校准会结束后公布结果"))
    load_form(PREFIX, (sid, cid, actor), stored.card, mine.ratings if mine else {}, mine.version if mine else 0)
    ratings = rate_scorecard(stored.card, PREFIX)
    show_score(stored.card, ratings, "我的得分")
    if st.button("提交校准评分", key="cal_submit", type="primary"):
        submit_form(PREFIX, "提交校准评分",
                    lambda base: calibration.submit_review(engine(), sid, cid, ratings, actor, base_version=base),
                    f"已提交会话 {task.external_id} 的校准评分（结束前可修改）")
