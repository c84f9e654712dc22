"""评分表: the scorecards with their versions and the rules that pick one per conversation; QA managers edit them,
and every save is a new version (qa.program.store), so earlier reviews keep computing the same score."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from qa.access import allowed
from qa.errors import HuifangError
from qa.program import store
from qa.program.scorecard import FATAL, KINDS, SCALES, criteria_frame, scorecard_from_frame
from qa.program.selection import SelectionRule
from ui.cache import engine, read
from ui.frame import require_frame
from ui.scorecard_editor import (
    FRAME_CONFIG,
    bonus_caption,
    criterion_editor,
    display_frame,
    draft_rows,
    load_draft,
)
from ui.state import flash, show_flash
from ui.text import plain
from ui.user import current_principal, current_user

require_frame(__file__)

NEW = "＋ 新建评分表"
FORMULA = """
**得分怎么算**（由系统计算，不能手填）：
- 每个已评的计分项换算到 0–100：(取值 − 下限)/(上限 − 下限) × 100；
- 基础分 = Σ(得分×权重)/Σ权重，只算已评的计分项（“不适用”的项不进分子也不进分母）；加分项只加分子，可使总分超过 100；
  没有可计分的计分项时基础分为 100；
- 总分 = max(0, 基础分 + Σ加减分)；加减分项每次 ±N 分，节可设扣分上限（该节分值）；
- **本节致命项**未通过：该节所有项按最低分计（“不适用”也不例外）；**致命项**未通过：总分为 0。
  优先级：致命项 > 本节致命项 > 不适用。
"""
LIST_COLUMNS = {"name": "评分表", "description": "说明", "active": "启用", "version": "当前版本", "criteria": "评分项数",
                "updated_at": st.column_config.DatetimeColumn("最后修改", format="YYYY-MM-DD HH:mm"),
                "updated_by": "修改人"}
HISTORY_COLUMNS = {"version": "版本", "created_at": st.column_config.DatetimeColumn("时间", format="YYYY-MM-DD HH:mm"),
                   "created_by": "修改人", "note": "说明"}


def _save(sid: int | None, actor: str) -> None:
    """Save the draft: a new scorecard, or the next version of ``sid`` (nothing when unchanged)."""
    ss = st.session_state
    try:
        card = scorecard_from_frame(ss["sc_name"], pd.DataFrame(draft_rows(), columns=list(FRAME_CONFIG)),
                                    ss.get("sc_description", ""))
        if sid is None:
            saved = store.create_scorecard(engine(), card, actor, ss.get("sc_note", ""))
            ss["sc_pick"] = card.name
            flash(f"已新建评分表“{card.name}”（第 1 版）")
            return
        before = read(store.load_scorecard, sid).version
        saved = store.update_scorecard(engine(), sid, card, actor, ss.get("sc_note", ""))
    except HuifangError as e:
        flash(str(e), "error")
        return
    ss["sc_pick"] = card.name
    flash(f"已保存为“{card.name}”第 {saved.version} 版；已有的评审仍按各自的版本计分" if saved.version != before
          else "没有改动，未生成新版本", "success" if saved.version != before else "info")


def _rules_editor(names: list[str], actor: str | None) -> None:
    """The ordered rule list as one table: first match wins, an empty rule is the fallback."""
    st.caption("按顺序匹配，第一条符合的规则决定会话使用哪张评分表；技能组、分类、平台都留空的规则匹配所有会话（兜底）。")
    rules = pd.DataFrame([vars(r) for r in read(store.selection_rules)],
                         columns=["scorecard", "team", "category", "platform"])
    edited = st.data_editor(rules, num_rows="dynamic", hide_index=True, key="sc_rules", disabled=actor is None,
                            column_config={"scorecard": st.column_config.SelectboxColumn("评分表", options=names,
                                                                                         required=True),
                                           "team": "技能组", "category": "分类", "platform": "平台"})
    if actor is not None and st.button("保存选择规则", key="sc_rules_save"):
        try:
            store.save_selection_rules(engine(), [
                SelectionRule(str(r["scorecard"]), *(None if pd.isna(r[k]) else str(r[k])
                                                     for k in ("team", "category", "platform")))
                for r in edited.to_dict("records") if not pd.isna(r["scorecard"])], actor)
        except HuifangError as e:
            st.error(plain(e))
        else:
            flash("选择规则已保存：下次自动质检会按新规则重新检查每个会话")
            st.rerun()


user = current_user()
actor = user[1] if user is not None and allowed(current_principal(), "manage_program") else None  # others read
st.title("评分表")
show_flash()
with st.expander("得分公式", expanded=False):
    st.markdown(FORMULA)

cards = read(store.list_scorecards)
if cards.empty:
    st.info("还没有评分表：在下面新建一张（演示数据自带“售前”“售后”“评价回复”）。" if actor is not None
            else "还没有评分表：由质检主管或管理员新建。")
else:
    st.dataframe(cards, hide_index=True, column_order=list(LIST_COLUMNS), column_config=LIST_COLUMNS,
                 key="sc_list")

tab_card, tab_rules = st.tabs(["查看与编辑", "选择规则"])
with tab_rules:
    _rules_editor(list(cards["name"]), actor)

with tab_card:
    options = [*cards["name"], *([NEW] if actor is not None else [])]  # only a manager may start one
    if not options:
        st.stop()
    pick = st.selectbox("评分表", options, key="sc_pick")
    sid = None if pick == NEW else int(cards.loc[cards["name"] == pick, "id"].iloc[0])
    latest = None if sid is None else read(store.load_scorecard, sid)
    if latest is not None:
        history = read(store.scorecard_history, latest.scorecard_id)
        left, right = st.columns([3, 2])
        with left:
            st.markdown("**版本**")
            st.dataframe(history, hide_index=True, column_order=list(HISTORY_COLUMNS), column_config=HISTORY_COLUMNS,
                         key="sc_history")
        with right:
            shown = st.selectbox("查看版本", list(history["version"]), key=f"sc_version_{sid}",
                                 format_func=lambda v: f"第 {v} 版")
            active = st.toggle("启用（停用后选择规则跳过它）", value=latest.active, key=f"sc_active_{sid}",
                               disabled=actor is None)
            if actor is not None and active != latest.active:
                store.set_scorecard_active(engine(), latest.scorecard_id, active, actor)
                flash(f"评分表“{latest.card.name}”已{'启用' if active else '停用'}")
                st.rerun()
        old = read(store.load_scorecard, latest.scorecard_id, shown)
        if old.card.description:
            st.caption(plain(old.card.description))
        # the whole width: a criteria table beside the version list scrolled sideways at 1440 px
        st.dataframe(display_frame(old.card), hide_index=True, column_config=FRAME_CONFIG, key="sc_criteria")
        bonus_caption(criteria_frame(old.card))
    if actor is None:
        st.info("评分表由质检主管或管理员维护；这里可以查看各版本和得分公式。")
        st.stop()
    st.markdown(f"**{'新建评分表' if latest is None else '编辑（保存为新版本）'}**")
    load_draft((pick, latest.version if latest else None), latest.card if latest else None)
    meta = st.columns(2)
    meta[0].text_input("名称", key="sc_name")
    meta[1].text_input("说明", key="sc_description")
    criterion_editor()
    st.text_input("修改说明（记入版本历史）", key="sc_note", placeholder="例如：禁用语扣分从 5 分改为 10 分")
    st.button("保存为新版本" if latest else "新建评分表", key="sc_save", type="primary", on_click=_save,
              args=(sid, actor))
    st.caption(f"类型：{'、'.join(KINDS.values())}；量表：{'、'.join(SCALES.values())}；"
               f"致命：{'、'.join(FATAL.values())}")
